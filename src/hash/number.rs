//! RFC 8785 numbers (section 3.2.2.3): a double is written as ECMAScript's Number::toString
//! writes it. Integers up to 2^53 are plain digits (`itoa`, in `super`); every other double (a
//! "float" here) needs the shortest round-trip digits. Natively (the server, native tests)
//! `ryu-js` writes them. On wasm32 the JS engine does, so ryu-js (~11 KiB gzip of power-of-5
//! tables) stays out of the package (issue 12, BENCHMARKS.md "Size"): a first pass collects the
//! value's floats in the order they are written, ONE imported call formats them all, and the
//! writing pass takes their texts in that order. No call when a value holds no float.

/// Where a writing pass gets the text of each float (see the module's header).
pub(super) struct Floats {
    #[cfg(not(target_arch = "wasm32"))]
    buf: ryu_js::Buffer,
    /// wasm32, first pass: the floats in write order.
    #[cfg(target_arch = "wasm32")]
    found: Vec<f64>,
    /// wasm32, writing pass (`None` in the first): their texts joined by `,` (no number's text
    /// holds one), and where the next one starts.
    #[cfg(target_arch = "wasm32")]
    texts: Option<String>,
    #[cfg(target_arch = "wasm32")]
    next: usize,
}

#[cfg(target_arch = "wasm32")]
mod js {
    use wasm_bindgen::prelude::*;

    #[wasm_bindgen(module = "/js/numbers.js")]
    extern "C" {
        /// `String(x)` of every element, joined by `,`.
        #[wasm_bindgen(js_name = formatNumbers)]
        pub fn format_numbers(xs: &[f64]) -> String;
    }
}

impl Floats {
    /// Floats for a writing pass over a value; `collect` runs the same walk first on wasm32
    /// (with a counting sink), so that every float is formatted by one JS call.
    pub(super) fn prepare(collect: impl FnOnce(&mut Floats)) -> Floats {
        #[cfg(not(target_arch = "wasm32"))]
        {
            let _ = collect;
            Floats { buf: ryu_js::Buffer::new() }
        }
        #[cfg(target_arch = "wasm32")]
        {
            let mut f = Floats { found: Vec::new(), texts: None, next: 0 };
            collect(&mut f);
            let texts = if f.found.is_empty() { String::new() } else { js::format_numbers(&f.found) };
            Floats { found: Vec::new(), texts: Some(texts), next: 0 }
        }
    }

    /// The text of the float `x` (finite; not an integer up to 2^53). In the first pass on
    /// wasm32 it is recorded and the text is empty.
    pub(super) fn text(&mut self, x: f64) -> &[u8] {
        #[cfg(not(target_arch = "wasm32"))]
        {
            self.buf.format_finite(x).as_bytes()
        }
        #[cfg(target_arch = "wasm32")]
        {
            let Some(texts) = &self.texts else {
                self.found.push(x);
                return b"";
            };
            let rest = &texts.as_bytes()[self.next.min(texts.len())..];
            let end = rest.iter().position(|&b| b == b',').unwrap_or(rest.len());
            self.next += end + 1;
            &rest[..end]
        }
    }
}

/// One double as ECMAScript's `String(x)` writes it (bounds in validation messages: rare, so
/// one JS call each on wasm32).
pub fn js_number(x: f64) -> String {
    #[cfg(not(target_arch = "wasm32"))]
    {
        ryu_js::Buffer::new().format(x).to_string()
    }
    #[cfg(target_arch = "wasm32")]
    {
        js::format_numbers(&[x])
    }
}
