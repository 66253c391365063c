// Checks, before `npm start` spends a minute on setup and the build, that the port the demo
// server will listen on is free, and says how to pick another one when it is not.
//
//   node scripts/check-port.mjs      (PORT=8081 picks another port; PORT=0 lets the system choose)
//
// Exit status 0: free (or PORT=0). 1: in use, not allowed, or PORT is not a port number.
import { createServer } from "node:net";
import { portFrom, HOST, portAdvice } from "./port.mjs";

const port = portFrom(process.env.PORT);
if (port.error) {
  console.error(`check-port: ${port.error}`);
  process.exit(1);
}
if (port.value === 0) process.exit(0); // any free port will do: nothing to check

const probe = createServer();
probe.once("error", (e) => {
  console.error(`check-port: ${portAdvice(port.value, e)}`);
  process.exit(1);
});
probe.listen(port.value, HOST, () => probe.close(() => process.exit(0)));
