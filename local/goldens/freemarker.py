"""``make goldens``: local/goldens/freemarker_corpus.py rendered by Apache FreeMarker, as goldens.

Installs Debian's libfreemarker-java when it is missing (apt-get; Java 17 is on the machine),
compiles RenderCases.java against it, renders every case and writes
tests/goldens/freemarker.json: the case, the instant ``.now`` was read near (``nowMillis``), and
FreeMarker's result (``kind``: ok, missing, parse or error; ``output`` or the first line of
FreeMarker's ``message``). Never edit that file by hand: change the corpus and run this again.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from local.goldens.freemarker_corpus import cases

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
GOLDENS = ROOT / "tests" / "goldens" / "freemarker.json"
JAR = Path("/usr/share/java/freemarker.jar")


def ensure_freemarker() -> str:
    if not JAR.exists():
        sudo = (
            []
            if shutil.which("id") and subprocess.check_output(["id", "-u"]).strip() == b"0"
            else ["sudo"]
        )
        subprocess.run([*sudo, "apt-get", "update"], check=True)
        subprocess.run([*sudo, "apt-get", "install", "-y", "libfreemarker-java"], check=True)
    manifest = subprocess.run(
        ["unzip", "-p", str(JAR), "META-INF/MANIFEST.MF"], capture_output=True, text=True
    ).stdout
    version = next(
        (line.split(":", 1)[1].strip() for line in manifest.splitlines() if "Version" in line),
        "unknown",
    )
    return version


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def main() -> None:
    version = ensure_freemarker()
    corpus = cases()
    with tempfile.TemporaryDirectory() as build:
        subprocess.run(
            ["javac", "-cp", str(JAR), "-d", build, str(HERE / "RenderCases.java")], check=True
        )
        lines = "".join(
            "\t".join(
                _b64(v)
                for v in (
                    c["id"],
                    c["template"],
                    json.dumps(c["metadata"]),
                    c["locale"],
                    c["timeZone"],
                )
            )
            + "\n"
            for c in corpus
        )
        done = subprocess.run(
            ["java", "-cp", f"{JAR}:{build}", "RenderCases"],
            input=lines.encode(),
            capture_output=True,
            check=True,
        )
    results = {}
    for line in done.stdout.decode().splitlines():
        case_id, now, kind, text = line.split("\t")
        results[base64.b64decode(case_id).decode()] = (
            int(now),
            kind,
            base64.b64decode(text).decode(),
        )
    goldens = []
    for case in corpus:
        now, kind, text = results[case["id"]]
        result = {"kind": kind}
        if kind == "ok":
            result["output"] = text
        else:
            result["message"] = text.splitlines()[0] if text else ""
        goldens.append({**case, "nowMillis": now, "result": result})
    GOLDENS.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "engine": f"Apache FreeMarker {version} (Debian libfreemarker-java)",
        "configuration": "incompatible_improvements 2.3.20, RETHROW handler, SAFER_RESOLVER, "
        "api_builtin_enabled false, metadata numbers as BigDecimal",
        "cases": goldens,
    }
    GOLDENS.write_text(json.dumps(document, ensure_ascii=False, indent=1) + "\n")
    kinds: dict[str, int] = {}
    for g in goldens:
        kinds[g["result"]["kind"]] = kinds.get(g["result"]["kind"], 0) + 1
    print(f"{len(goldens)} cases written to {GOLDENS.relative_to(ROOT)}: {kinds}", file=sys.stderr)


if __name__ == "__main__":
    main()
