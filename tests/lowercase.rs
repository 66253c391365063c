//! `model::case::lowercase_without_slicing` (src/model/case.rs, the core entry's lowercasing)
//! against `str::to_lowercase` as the oracle: its case-ignorable table for every code point,
//! the final-sigma rule around every code point, and random strings of the characters the rule
//! looks at.

use proptest::prelude::*;
use workflow_templates::model::case::{is_case_ignorable, lowercase_without_slicing as to_lowercase};

/// std's `Case_Ignorable`, read off its lowercasing: after a cased `A`, a capital sigma followed
/// by nothing is final exactly when everything between is case-ignorable (or `c` is cased
/// itself); alone before it, `c` makes it final exactly when `c` is cased and not ignorable.
fn std_case_ignorable(c: char) -> bool {
    let final_after_a = format!("A{c}Σ").to_lowercase().ends_with('ς');
    let final_alone = format!("{c}Σ").to_lowercase().ends_with('ς');
    final_after_a && !final_alone
}

#[test]
fn case_ignorable_matches_std() {
    let wrong: Vec<String> = (0..=0x10FFFFu32)
        .filter_map(char::from_u32)
        .filter(|&c| c != 'Σ' && is_case_ignorable(c) != std_case_ignorable(c))
        .map(|c| format!("U+{:04X}", c as u32))
        .collect();
    assert!(wrong.is_empty(), "{} code points differ from std: {:?}", wrong.len(), &wrong[..wrong.len().min(20)]);
}

#[test]
fn every_code_point_next_to_a_sigma_lowercases_as_std() {
    for c in (0..=0x10FFFFu32).filter_map(char::from_u32) {
        for s in [format!("{c}"), format!("{c}Σ"), format!("Σ{c}"), format!("A{c}Σ"), format!("AΣ{c}"), format!("A{c}Σ{c}b")] {
            assert_eq!(to_lowercase(&s), s.to_lowercase(), "U+{:04X} in {s:?}", c as u32);
        }
    }
}

/// Strings of what the final-sigma rule looks at: sigmas, cased letters of several scripts,
/// case-ignorable marks and punctuation, uncased characters and ASCII.
fn sigma_heavy() -> impl Strategy<Value = String> {
    let pick = prop::sample::select(vec![
        'Σ', 'σ', 'ς', 'Α', 'ω', 'A', 'z', 'İ', 'ǅ', 'ᾈ', '\u{301}', '\u{345}', '\'', '.', ':', '\u{b7}', '\u{2b0}', '\u{ad}',
        '\u{200d}', ' ', '1', '-', '中', '😀', '\u{10400}',
    ]);
    prop::collection::vec(prop_oneof![4 => pick, 1 => any::<char>()], 0..12).prop_map(|v| v.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(20_000))]
    #[test]
    fn random_strings_lowercase_as_std(s in sigma_heavy()) {
        prop_assert_eq!(to_lowercase(&s), s.to_lowercase());
    }
}
