"""Record what java.util.regex does with every case of the corpus: ``make goldens-regex``.

Compiles RegexGoldens.java with ``javac`` (Java 17, the release the triggers follow), runs it on
every (pattern, message) of ``java_regex_corpus.CASES`` and writes
tests/goldens/java_regex/goldens.json. The goldens come only
from here; ``make test`` compares the connector against them without Java.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from local.goldens.java_regex_corpus import CASES

HERE = Path(__file__).resolve().parent
GOLDENS = HERE.parent.parent / "tests" / "goldens" / "java_regex" / "goldens.json"
JAVA_RELEASE = "17"


def _tool(name: str) -> str:
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / name).exists():
        return str(Path(java_home) / "bin" / name)
    found = shutil.which(name)
    if not found:
        sys.exit(f"{name} not found: install a JDK {JAVA_RELEASE} or set JAVA_HOME")
    return found


def _java_version(java: str) -> str:
    out = subprocess.run([java, "-version"], capture_output=True, text=True, check=True).stderr
    return out.splitlines()[0]


def record() -> tuple[list[dict], str]:
    java, javac = _tool("java"), _tool("javac")
    version = _java_version(java)
    if f'"{JAVA_RELEASE}.' not in version:
        sys.exit(f"the goldens follow Java {JAVA_RELEASE}; {java} is {version}")
    lines = "".join(f"{_b64(pattern)}\t{_b64(message)}\n" for pattern, message in CASES)
    with tempfile.TemporaryDirectory() as classes:
        subprocess.run([javac, "-d", classes, str(HERE / "RegexGoldens.java")], check=True)
        done = subprocess.run(
            [
                java,
                "--add-opens",
                "java.base/java.util.regex=ALL-UNNAMED",
                "-cp",
                classes,
                "RegexGoldens",
            ],
            input=lines.encode(),
            capture_output=True,
            check=True,
        )
    results = [json.loads(line) for line in done.stdout.decode().splitlines()]
    assert len(results) == len(CASES)
    return [
        {"pattern": pattern, "message": message, "java": result}
        for (pattern, message), result in zip(CASES, results, strict=True)
    ], version


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8", "surrogatepass")).decode()


def main() -> None:
    cases, version = record()
    GOLDENS.write_text(
        json.dumps({"java": version, "cases": cases}, ensure_ascii=False, indent=1) + "\n",
        encoding="utf-8",
    )
    print(f"{len(cases)} cases recorded with {version} in {GOLDENS.relative_to(Path.cwd())}")


if __name__ == "__main__":
    main()
