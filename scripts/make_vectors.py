#!/usr/bin/env python3
"""Generate tests/vectors/canonical.json and tests/vectors/config.json.

The expected values come from an implementation that no one in this project wrote: PyPI
`rfc8785` (RFC 8785 / JCS) plus Python's `hashlib` (SHA-256). Nothing here imports or runs the
Rust crate. Requires `pip install rfc8785`.

Number semantics: RFC 8785 (via I-JSON) treats every JSON number as an IEEE 754 double, exactly
like JavaScript's JSON.parse. Python's json module would keep integer literals as exact ints
(and rfc8785 refuses ints beyond 2^53-1), so every number literal is parsed as a double here
(`parse_int=float`). For integers inside +-(2^53-1) this changes nothing; beyond it, the input
is rounded to the nearest double, as a JS consumer would see it.

Usage: python3 scripts/make_vectors.py        (rewrites both files)
       python3 scripts/check_vectors.py       (re-derives and verifies them)
"""

from __future__ import annotations

import hashlib
import json
import os
import sys

import rfc8785

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "tests", "vectors")


def _reject_constant(name: str):
    raise ValueError(f"non-finite number {name} is not JSON")


def load(text: str):
    """Parse JSON text the way JSON.parse / I-JSON does: every number is a double."""
    return json.loads(text, parse_int=float, parse_constant=_reject_constant)


def jcs(value) -> str:
    return rfc8785.dumps(value).decode("utf-8")


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# (name, input JSON text). Python string escapes below produce the *input bytes*; JSON escapes
# that must stay JSON escapes in the input are written with a doubled backslash or in r"" strings.
CANONICAL = [
    # ---- numbers: integers and zero ----------------------------------------------------------
    ("num_zero", "0"),
    ("num_negative_zero_int", "-0"),
    ("num_negative_zero_float", "-0.0"),
    ("num_zero_exponent", "0e10"),
    ("num_one", "1"),
    ("num_minus_one", "-1"),
    ("num_integer_from_float", "1.0"),
    ("num_trailing_zeros_fraction", "4.50"),
    ("num_integers_array", "[0,7,-42,1000000,123456789]"),
    # ---- numbers: exponent forms -------------------------------------------------------------
    ("num_exp_upper", "1E2"),
    ("num_exp_lower", "1e2"),
    ("num_exp_plus", "1E+2"),
    ("num_exp_negative", "1e-2"),
    ("num_exp_fraction", "1.25e1"),
    ("num_exp_scaled_integer", "123e-2"),
    ("num_exp_to_integer", "100e-2"),
    ("num_exp_many_zeros", "0.000000000000000000000000001"),
    # ---- numbers: 1e21 boundary (fixed below, exponent at and above) ------------------------
    ("num_1e20", "1e20"),
    ("num_just_below_1e21", "999999999999999900000"),
    ("num_1e21", "1e21"),
    ("num_1e21_as_integer_literal", "1000000000000000000000"),
    ("num_999999999999999999999_rounds_to_1e21", "999999999999999999999"),
    ("num_1_5e21", "1.5e21"),
    ("num_1e23", "1e23"),
    ("num_1e30", "1E30"),
    ("num_2_pow_68", "295147905179352825856"),
    # ---- numbers: 1e-7 boundary (fixed at and above 1e-6, exponent below) --------------------
    ("num_1e-6", "0.000001"),
    ("num_1e-6_exp", "1e-6"),
    ("num_1_5e-6", "0.0000015"),
    ("num_1e-7", "1e-7"),
    ("num_1e-7_fixed_input", "0.0000001"),
    ("num_1_23e-7", "0.000000123"),
    ("num_negative_1e-7", "-1e-7"),
    ("num_0_002", "2e-3"),
    # ---- numbers: extremes -------------------------------------------------------------------
    ("num_min_subnormal", "5e-324"),
    ("num_min_subnormal_negative", "-5e-324"),
    ("num_min_subnormal_long_input", "4.9406564584124654e-324"),
    ("num_min_normal", "2.2250738585072014e-308"),
    ("num_max_double", "1.7976931348623157e308"),
    ("num_max_double_negative", "-1.7976931348623157e308"),
    # ---- numbers: shortest round trip --------------------------------------------------------
    ("num_0_1", "0.1"),
    ("num_0_1_plus_0_2", "0.30000000000000004"),
    ("num_0_3", "0.3"),
    ("num_one_third", "0.3333333333333333"),
    ("num_one_third_overlong", "0.33333333333333333333333"),
    ("num_rfc_333333333", "333333333.33333329"),
    ("num_1_plus_epsilon", "1.0000000000000002"),
    ("num_pi", "3.141592653589793"),
    ("num_negative_fraction", "-1.5"),
    ("num_17_digits", "123456789012345678"),
    ("num_1_2345678901234568e20", "123456789012345680000"),
    # ---- numbers: integers around 2^53 and u64/i64 -------------------------------------------
    ("num_2_pow_53_minus_1", "9007199254740991"),
    ("num_minus_2_pow_53_plus_1", "-9007199254740991"),
    ("num_2_pow_53", "9007199254740992"),
    ("num_2_pow_53_plus_1_rounds_down", "9007199254740993"),
    ("num_2_pow_53_plus_3_rounds_to_even", "9007199254740995"),
    ("num_i64_max", "9223372036854775807"),
    ("num_i64_min", "-9223372036854775808"),
    ("num_u64_max", "18446744073709551615"),
    # ---- object keys: sorted by UTF-16 code units --------------------------------------------
    ("key_simple_unsorted", '{"b":1,"c":2,"a":3}'),
    ("key_case", '{"b":1,"a":2,"B":3,"A":4}'),
    ("key_empty", '{"a":1,"":2," ":3}'),
    ("key_prefixes", '{"abc":1,"ab":2,"a":3,"aa":4,"b":5}'),
    ("key_digits_lexicographic", '{"10":1,"9":2,"1":3,"100":4}'),
    ("key_escaped_in_input", '{"\\u0062":1,"a":2,"\\u0063":3}'),
    ("key_control_chars", '{"\\n":1,"\\u0001":2,"\\u001f":3," ":4}'),
    # U+1F600 (UTF-16 D83D DE00) sorts BEFORE U+E000 in UTF-16 although its code point is larger.
    ("key_astral_vs_private_use", '{"\ue000":1,"\U0001F600":2}'),
    ("key_astral_vs_bmp_high",
     '{"\uff21":"fullwidth A","\ufb01":"fi ligature","\U0001D11E":"G clef","\ue000":"private use",'
     '"\U0001F600":"grinning face","\u20ac":"euro","\ufffd":"replacement"}'),
    ("key_astral_escaped_input", '{"\\ue001":1,"\\ud83d\\ude00":2,"\\ud800\\udc00":3}'),
    ("key_rfc8785_sorting_example",
     '{"\\u20ac":"Euro Sign","\\r":"Carriage Return","\\ufb33":"Hebrew Letter Dalet With Dagesh",'
     '"1":"One","\\ud83d\\ude00":"Emoji: Grinning Face","\\u0080":"Control",'
     '"\\u00f6":"Latin Small Letter O With Diaeresis"}'),
    ("key_unicode_not_normalised", '{"\\u00e9":1,"e\\u0301":2,"\\u212b":3,"\\u00c5":4}'),
    ("key_nested_objects_sorted",
     '{"z":{"y":{"b":[{"d":1,"c":2}],"a":null},"x":1},"a":{"c":true,"b":false}}'),
    # ---- strings: escapes --------------------------------------------------------------------
    ("str_all_controls",
     '"' + "".join("\\u%04x" % i for i in range(0x20)) + '"'),
    ("str_all_controls_uppercase_hex",
     '"' + "".join("\\u%04X" % i for i in range(0x20)) + '"'),
    ("str_short_escapes", r'"\b\t\n\f\r"'),
    ("str_short_escapes_as_u", r'"\u0008\u0009\u000a\u000c\u000d"'),
    ("str_nul", r'"a\u0000b"'),
    ("str_vertical_tab_and_escape", r'"\u000b\u001b"'),
    ("str_quote_backslash", r'"say \"hi\" \\ back\\slash"'),
    ("str_solidus_raw", '"a/b"'),
    ("str_solidus_escaped", r'"a\/b"'),
    ("str_del_escaped_input", r'"\u007f"'),
    ("str_del_raw_input", '"x\x7fy"'),
    ("str_line_separators", r'"\u2028\u2029"'),
    ("str_line_separators_raw", '"a\u2028b\u2029c"'),
    ("str_emoji_raw", '"hi \U0001F600 \U0001F44D\U0001F3FD"'),
    ("str_emoji_surrogate_escape", r'"\ud83d\ude00"'),
    ("str_latin1_escape", r'"caf\u00e9 \u00fc\u00df"'),
    ("str_not_normalised", r'"e\u0301 vs \u00e9"'),
    ("str_bom_and_replacement", r'"\ufeff\ufffd\uffff"'),
    ("str_c1_control_unescaped", r'"\u0080\u009f"'),
    ("str_cjk_and_rtl", '"\u6f22\u5b57 \u05e9\u05dc\u05d5\u05dd \u0645\u0631\u062d\u0628\u0627"'),
    ("str_rfc8785_example_string", '"\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/"'),
    # ---- structure / literals / whitespace ---------------------------------------------------
    ("lit_true", "true"),
    ("lit_false", "false"),
    ("lit_null", "null"),
    ("lit_string_top_level", '"top"'),
    ("empty_object", "{}"),
    ("empty_array", "[]"),
    ("empty_string", '""'),
    ("nested_empties", '[{},[],[[]],{"a":{}},{"b":[]}]'),
    ("array_order_preserved", "[3,1,2,\"b\",\"a\",null,false,true]"),
    ("deep_nesting", '[[[[[[[[[[{"k":[[[[1]]]]}]]]]]]]]]]'),
    ("array_of_objects_sorted_inside", '[{"b":1,"a":2},{"d":3,"c":4}]'),
    ("whitespace_everywhere",
     ' \t\r\n{ \n"b" :\t[ 1 ,\r\n 2 , { "y" : null , "x" : true } ] ,\n  "a"\t:\r"s p a c e" } \n'),
    ("whitespace_inside_strings_kept", '{ "k e y" : " v\\ta l " }'),
    ("rfc8785_main_example",
     '{\n  "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],\n'
     '  "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",\n'
     '  "literals": [null, true, false]\n}'),
    ("mixed_document",
     '{"tools":["web_search","calc"],"temperature":0.7,"max_tokens":1024,"stop":["\\n\\n","END"],'
     '"meta":{"\U0001F600":"\u00e9","\ue000":-0,"n":1e21,"s":5e-324}}'),
]

# Independent sanity checks against values printed in RFC 8785 itself (section 3.2.2 and
# appendix), so the generator does not silently trust rfc8785 either.
RFC_EXPECTED = {
    "rfc8785_main_example":
        '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
        '"string":"\u20ac$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    "key_rfc8785_sorting_example":
        '{"\\r":"Carriage Return","1":"One","\u0080":"Control",'
        '"\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign",'
        '"\U0001F600":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    "num_negative_zero_float": "0",
    "num_min_subnormal": "5e-324",
    "num_max_double": "1.7976931348623157e+308",
    "num_1e21": "1e+21",
    "num_1e20": "100000000000000000000",
    "num_1e-7": "1e-7",
    "num_1e-6": "0.000001",
    "num_2_pow_53_plus_1_rounds_down": "9007199254740992",
    "num_u64_max": "18446744073709552000",
    "num_0_1_plus_0_2": "0.30000000000000004",
    "key_astral_vs_private_use": '{"\U0001F600":2,"\ue000":1}',
}

# Config vectors: (name, config JSON text). The text is embedded verbatim in config.json so
# number spellings survive. Lists may be null; config_value turns null into [] and sorts both
# lists by code point (NOT by UTF-16), then the object is canonicalised like any other.
CONFIGS = [
    ("plain_minimal",
     '{"workflow_type":"plain","default_params":{},"required_tools":null,'
     '"required_retrievers":null,"base_template_id":null}'),
    ("plain_minimal_empty_lists_same_hash",
     '{"workflow_type":"plain","default_params":{},"required_tools":[],'
     '"required_retrievers":[],"base_template_id":null}'),
    ("rag_minimal_type_changes_hash",
     '{"workflow_type":"rag","default_params":{},"required_tools":null,'
     '"required_retrievers":null,"base_template_id":null}'),
    ("tools_unsorted",
     '{"workflow_type":"tools","default_params":{"temperature":0.2},'
     '"required_tools":["web_search","calculator","code_exec"],'
     '"required_retrievers":null,"base_template_id":null}'),
    ("rag_unsorted_retrievers",
     '{"workflow_type":"rag","default_params":{"top_k":5,"temperature":0.0},'
     '"required_tools":[],"required_retrievers":["wiki","docs","arxiv"],"base_template_id":null}'),
    ("full_both_unsorted_with_base",
     '{"workflow_type":"full","default_params":{"model":"gpt-4o","max_tokens":2048},'
     '"required_tools":["sql","browser","calculator"],"required_retrievers":["kb_v2","kb_v1"],'
     '"base_template_id":"01JD8X3K9Q7W2V5N4M6R8T0Y1Z"}'),
    ("full_case_sensitive_list_sort",
     '{"workflow_type":"full","default_params":{},"required_tools":["b","B","a","A","_x"],'
     '"required_retrievers":["Zeta","alpha","Alpha"],"base_template_id":null}'),
    # Code point order puts U+E000 before U+1F600; UTF-16 order would do the opposite.
    ("tools_code_point_sort_not_utf16",
     '{"workflow_type":"tools","default_params":{},'
     '"required_tools":["\U0001F600tool","\ue000tool","\u00e9tool","etool"],'
     '"required_retrievers":null,"base_template_id":null}'),
    ("unicode_params",
     '{"workflow_type":"plain","default_params":{"greeting":"h\u00e9llo \U0001F600",'
     '"\u043a\u043b\u044e\u0447":"\u0437\u043d\u0430\u0447\u0435\u043d\u0438\u0435",'
     '"\ue000":1,"\U0001F600":2,"e\\u0301":"not normalised","ctl":"a\\u0001\\tb\\u007f\\u2028"},'
     '"required_tools":null,"required_retrievers":null,"base_template_id":null}'),
    ("nested_params",
     '{"workflow_type":"rag","default_params":{"model":{"name":"gpt","options":{"top_p":1.0,'
     '"temperature":0.7,"stop":["\\n","END"]}},"max_tokens":1024,"retrieval":{"k":8,'
     '"filters":[{"field":"lang","eq":"en"},{"field":"year","gte":2020}]},"empty":{},"list":[]},'
     '"required_tools":null,"required_retrievers":["docs"],"base_template_id":null}'),
    ("numeric_params",
     '{"workflow_type":"plain","default_params":{"neg_zero":-0,"big":1e21,"small":1e-7,'
     '"sum":0.30000000000000004,"safe":9007199254740991,"exp":1E2,"frac":4.50,"tiny":5e-324},'
     '"required_tools":null,"required_retrievers":null,"base_template_id":null}'),
    ("base_id_with_unsorted_params_keys",
     '{"workflow_type":"tools","default_params":{"z":1,"a":2,"M":3,"":4},'
     '"required_tools":["search"],"required_retrievers":null,'
     '"base_template_id":"01HZZZZZZZZZZZZZZZZZZZZZZZ"}'),
    ("key_order_of_config_text_irrelevant",
     '{"base_template_id":null,"required_retrievers":null,"required_tools":["calculator",'
     '"web_search","code_exec"],"default_params":{"temperature":0.2},"workflow_type":"tools"}'),
]


def config_value(cfg: dict) -> dict:
    """SPEC section 4: null lists become [], both lists sorted by code point (Python str order)."""
    return {
        "workflow_type": cfg["workflow_type"],
        "default_params": cfg["default_params"],
        "required_tools": sorted(cfg["required_tools"] or []),
        "required_retrievers": sorted(cfg["required_retrievers"] or []),
        "base_template_id": cfg["base_template_id"],
    }


def dump_str(s: str) -> str:
    # ensure_ascii=False keeps the file readable; control characters are still escaped.
    return json.dumps(s, ensure_ascii=False)


def main() -> int:
    os.makedirs(OUT_DIR, exist_ok=True)

    names = set()
    rows = []
    for name, text in CANONICAL:
        assert name not in names, f"duplicate vector name {name}"
        names.add(name)
        canonical = jcs(load(text))
        if name in RFC_EXPECTED and RFC_EXPECTED[name] != canonical:
            print(f"rfc8785 disagrees with RFC text on {name}: {canonical!r}", file=sys.stderr)
            return 1
        rows.append(
            "  {\"name\": %s,\n   \"input\": %s,\n   \"canonical\": %s,\n   \"sha256\": %s}"
            % (dump_str(name), dump_str(text), dump_str(canonical), dump_str(sha256_hex(canonical)))
        )
    with open(os.path.join(OUT_DIR, "canonical.json"), "w", encoding="utf-8", newline="\n") as f:
        f.write("[\n" + ",\n".join(rows) + "\n]\n")

    hashes = {}
    rows = []
    for name, text in CONFIGS:
        assert name not in names, f"duplicate vector name {name}"
        names.add(name)
        cfg = load(text)
        assert set(cfg) == {"workflow_type", "default_params", "required_tools",
                            "required_retrievers", "base_template_id"}, name
        canonical = jcs(config_value(cfg))
        h = sha256_hex(canonical)
        hashes[name] = h
        rows.append(
            "  {\"name\": %s,\n   \"config\": %s,\n   \"canonical\": %s,\n   \"config_hash\": %s}"
            % (dump_str(name), text, dump_str(canonical), dump_str(h))
        )
    # Self-checks of the intent of some vectors.
    assert hashes["plain_minimal"] == hashes["plain_minimal_empty_lists_same_hash"]
    assert hashes["plain_minimal"] != hashes["rag_minimal_type_changes_hash"]
    assert hashes["tools_unsorted"] == hashes["key_order_of_config_text_irrelevant"]
    text = "[\n" + ",\n".join(rows) + "\n]\n"
    json.loads(text)  # the assembled file must be valid JSON
    with open(os.path.join(OUT_DIR, "config.json"), "w", encoding="utf-8", newline="\n") as f:
        f.write(text)

    print(f"wrote {len(CANONICAL)} canonical vectors and {len(CONFIGS)} config vectors to {OUT_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
