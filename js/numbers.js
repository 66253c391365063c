// RFC 8785 numbers from the JS engine (src/hash/number.rs): ECMAScript's Number::toString is
// the number form RFC 8785 section 3.2.2.3 prescribes, so on wasm32 the package formats its
// floats here instead of carrying ryu-js's tables. One call per hashed value: `xs` is a
// Float64Array (a view of wasm memory) of every float in the order it is written.
//
// `"" + x` rather than `String(x)` or `xs.join(",")`: neither a global nor a prototype method
// that a page could replace is looked up, so no script can change a hash.
export function formatNumbers(xs) {
  let s = "" + xs[0];
  for (let i = 1; i < xs.length; i++) s += "," + xs[i];
  return s;
}
