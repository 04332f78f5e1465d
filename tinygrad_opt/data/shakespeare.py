"""Nine of Shakespeare's plays as one text, shipped with the package, to train a character-level model on."""

from __future__ import annotations

import gzip
from pathlib import Path

SHAKESPEARE_FILE = Path(__file__).resolve().parent / "shakespeare.txt.gz"


def load_shakespeare() -> str:
    """About 1 MB of Shakespeare: who speaks and what they say, speech after speech.

    Nine plays (Othello, Macbeth, Julius Caesar, The Tempest, Twelfth Night, Much Ado About
    Nothing, The Merchant of Venice, As You Like It, The Taming of the Shrew), laid out like the
    "tiny Shakespeare" corpus: a speaker's name and a colon on one line, the speech under it, a
    blank line between speeches. Stage directions, act and scene headings and lists of persons
    are left out. 1,025,534 characters, all ASCII; nothing is downloaded.

    Source: Project Gutenberg's e-texts of the Globe edition, public domain in the United States,
    as shipped in the `shakespeare` package 0.6 (Open Shakespeare) with the Gutenberg licence
    text removed. tinygrad_opt/data/README.md says how the file was made
    (scripts/make_shakespeare.py) and what was kept.
    """
    with gzip.open(SHAKESPEARE_FILE, "rb") as packed:
        return packed.read().decode("ascii")
