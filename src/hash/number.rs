//! RFC 8785 numbers (section 3.2.2.3): a double is written as ECMAScript's Number::toString
//! writes it. Integers up to 2^53 are plain digits (`itoa`, in `super`); every other double (a
//! "float" here) needs the shortest round-trip digits, laid out as ECMAScript lays them out.
//!
//! Natively (the server, native tests) `ryu-js` writes them. On wasm32 the digits come from
//! `zmij`, the formatter serde_json already links into the package (its `Display` of numbers
//! and its serializer), and [`Zmij::ecma`] lays them out: ryu-js's ~11 KiB gzip of power-of-5 tables
//! stay out of the package (issue 12, BENCHMARKS.md "Size"). Both are shortest round-trip
//! algorithms that pick, among the shortest digit strings that read back as `x`, the one
//! closest to `x` (ties to even), which is ECMAScript's rule; tests compare the two texts over
//! millions of doubles (here natively, `tests/wasm_numbers.rs` in browsers).

/// Where a float's text is written.
#[derive(Default)]
pub(super) struct Buf {
    #[cfg(not(target_arch = "wasm32"))]
    ryu: ryu_js::Buffer,
    #[cfg(target_arch = "wasm32")]
    z: Zmij,
}

impl Buf {
    /// The text of the float `x` (finite).
    pub(super) fn text(&mut self, x: f64) -> &[u8] {
        #[cfg(not(target_arch = "wasm32"))]
        {
            self.ryu.format_finite(x).as_bytes()
        }
        #[cfg(target_arch = "wasm32")]
        {
            self.z.ecma(x)
        }
    }
}

/// zmij's buffer and room for its text laid out again (25 bytes at most, as in
/// `-1.2345678901234567e-308`).
#[derive(Default)]
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
pub(super) struct Zmij {
    z: zmij::Buffer,
    out: [u8; 32],
}

/// One double as ECMAScript's `String(x)` writes it (bounds in validation messages).
pub fn js_number(x: f64) -> String {
    if !x.is_finite() {
        return if x.is_nan() { "NaN" } else if x > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    String::from_utf8(Buf::default().text(x).to_vec()).unwrap_or_default()
}

#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
impl Zmij {
    /// Finite `x` as ECMAScript's Number::toString writes it (ECMA-262 section 6.1.6.1.20),
    /// from zmij's shortest digits. zmij writes `[-]digits[.digits][e[+-]digits]`, fixed from
    /// 1e-5 to 1e16 (`12.34`, `0.001234`, `12340000000.0`), where ECMAScript is fixed too (from
    /// 1e-6 to 1e21): there only an integral value's `.0` goes. Any other text (an exponent) is
    /// read back as `x = 0.D × 10^n` (D without leading or trailing zeros) and laid out by the
    /// spec's four cases.
    pub(super) fn ecma(&mut self, x: f64) -> &[u8] {
        if x == 0.0 {
            return b"0"; // and -0
        }
        let s = self.z.format_finite(x).as_bytes();
        if !s.contains(&b'e') {
            return s.strip_suffix(b".0").unwrap_or(s);
        }
        let mut digits = [0u8; 24];
        let (mut k, mut n, mut exp, mut point) = (0usize, 0i32, 0i32, false);
        let mut i = usize::from(s.first() == Some(&b'-'));
        while i < s.len() {
            match s[i] {
                b'.' => point = true,
                b'e' | b'E' => {
                    let neg = s.get(i + 1) == Some(&b'-');
                    for &c in &s[i + 1..] {
                        if c.is_ascii_digit() {
                            exp = exp * 10 + i32::from(c - b'0');
                        }
                    }
                    if neg {
                        exp = -exp;
                    }
                    break;
                }
                c if k == 0 && c == b'0' => n -= i32::from(point), // a leading zero
                c => {
                    if k < digits.len() {
                        digits[k] = c;
                        k += 1;
                    }
                    n += i32::from(!point);
                }
            }
            i += 1;
        }
        while k > 0 && digits[k - 1] == b'0' {
            k -= 1;
        }
        let out = &mut self.out;
        let mut len = 0;
        let mut put = |bytes: &[u8]| {
            out[len..len + bytes.len()].copy_from_slice(bytes);
            len += bytes.len();
        };
        if k == 0 {
            put(b"0");
        } else {
            if x < 0.0 {
                put(b"-");
            }
            let d = &digits[..k];
            let n = n + exp;
            let ki = k as i32;
            if ki <= n && n <= 21 {
                put(d);
                for _ in 0..n - ki {
                    put(b"0");
                }
            } else if 0 < n && n <= 21 {
                put(&d[..n as usize]);
                put(b".");
                put(&d[n as usize..]);
            } else if -6 < n && n <= 0 {
                put(b"0.");
                for _ in 0..-n {
                    put(b"0");
                }
                put(d);
            } else {
                put(&d[..1]);
                if k > 1 {
                    put(b".");
                    put(&d[1..]);
                }
                let e = n - 1;
                put(if e < 0 { b"e-" } else { b"e+" });
                put(itoa::Buffer::new().format(e.unsigned_abs()).as_bytes());
            }
        }
        &self.out[..len]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ryu(x: f64) -> String {
        ryu_js::Buffer::new().format_finite(x).to_string()
    }

    fn ours(x: f64) -> String {
        String::from_utf8(Zmij::default().ecma(x).to_vec()).unwrap()
    }

    /// splitmix64, seeded: a failure can be replayed.
    fn rng(state: &mut u64) -> u64 {
        *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = *state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    #[test]
    fn ecma_layout_of_zmij_digits_equals_ryu_js() {
        let mut edges = vec![
            0.0, -0.0, 0.1, 0.5, 1e21, 1e-7, 1e-6, 5e-7, 1.5e300, 123.0, 1e20, 1e22, 1e-5, 0.000001234,
            f64::MIN_POSITIVE, f64::from_bits(1), f64::MAX, f64::EPSILON, 9007199254740993.0, 18446744073709551615.0,
        ];
        // Both sides of every power of ten, and of the notation changes.
        for e in -324..=308 {
            let p: f64 = format!("1e{e}").parse().unwrap();
            for k in -3i64..=3 {
                edges.push(f64::from_bits((p.to_bits() as i64 + k).max(0) as u64));
            }
        }
        for x in edges {
            for x in [x, -x] {
                if x.is_finite() {
                    assert_eq!(ours(x), ryu(x), "{x:e}");
                }
            }
        }
        // NUMBER_CASES=100000000 for a longer run (`cargo test --release`).
        let cases = std::env::var("NUMBER_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(3_000_000u64);
        let mut s = 0x5eed_0012u64;
        for i in 0..cases {
            let r = rng(&mut s);
            let x = match i % 4 {
                0 => f64::from_bits(r),                                      // any bit pattern
                1 => f64::from_bits(r & 0x000f_ffff_ffff_ffff),              // subnormal
                2 => (r % 100_000_000) as f64 / 10f64.powi((r >> 40) as i32 % 12), // short decimals
                _ => f64::from_bits(0x3e00_0000_0000_0000 | (r >> 8)),       // 1e-10 .. 1e21 and past
            };
            if x.is_finite() {
                assert_eq!(ours(x), ryu(x), "{x:e} (bits {:#x})", x.to_bits());
            }
        }
    }

    #[test]
    fn js_number_writes_bounds_as_javascript() {
        assert_eq!(js_number(0.0), "0");
        assert_eq!(js_number(2.0), "2");
        assert_eq!(js_number(0.5), "0.5");
        assert_eq!(js_number(1e21), "1e+21");
        assert_eq!(js_number(f64::INFINITY), "Infinity");
    }
}
