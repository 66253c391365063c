// placeholder until the types land
