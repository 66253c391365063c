// Entry of the browser bundle of the peers (built by bench/run.mjs with esbuild into
// bench/.build/peers.js): ajv and canonicalize are CommonJS, so the page cannot import them as is.
export { default as Ajv } from "ajv";
export { z } from "zod";
export { default as canonicalize } from "canonicalize";
export { sha256 } from "@noble/hashes/sha2.js";
export { bytesToHex } from "@noble/hashes/utils.js";
export { default as Dexie } from "dexie";
