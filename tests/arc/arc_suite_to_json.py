#!/usr/bin/python3
"""Converts the ARC test suite's YAML files (ValiMail's arc_test_suite: several YAML documents
per file, each a scenario with its tests and txt-records) into one JSON file for the GoogleTest
(tests/arc/arc_suite_test.cpp), which reads JSON with nlohmann_json.

usage: arc_suite_to_json.py SUITE.yml OUT.json"""
import json
import sys

import yaml


def main():
    src, dst = sys.argv[1], sys.argv[2]
    with open(src, encoding="utf-8") as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    out = []
    for doc in docs:
        tests = []
        for name, case in doc["tests"].items():
            case = {k: (v if isinstance(v, (str, int)) else str(v)) for k, v in case.items()
                    if v is not None}
            case["name"] = name
            tests.append(case)
        out.append({"description": doc.get("description", ""),
                    "txt_records": doc.get("txt-records") or {},
                    "domain": doc.get("domain", ""), "sel": doc.get("sel", ""),
                    "privatekey": doc.get("privatekey", ""), "tests": tests})
    with open(dst, "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
