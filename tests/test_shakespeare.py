"""Tests for tinygrad_opt/data/shakespeare.py and scripts/make_shakespeare.py: layout and contents."""

import configparser
import importlib.util
import re
from pathlib import Path

import pytest

from tinygrad_opt.data import SHAKESPEARE_FILE, load_shakespeare

ROOT = Path(__file__).resolve().parent.parent
SPEAKER_LINE = re.compile(r"[A-Z][A-Za-z ,'&-]*:")  # "MACBETH:", "FIRST WITCH:", "PRINCE OF Morocco:"


@pytest.fixture(scope="module")
def text():
    return load_shakespeare()


@pytest.fixture(scope="module")
def script():
    path = ROOT / "scripts" / "make_shakespeare.py"
    spec = importlib.util.spec_from_file_location("make_shakespeare", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_corpus_is_about_a_megabyte_of_ascii(text):
    assert isinstance(text, str)
    assert len(text) == 1_025_534  # the number the docstring and the data README give
    assert text.isascii()
    assert text.endswith("\n") and not text.endswith("\n\n")


def test_every_speech_is_a_speaker_line_then_what_they_say(text):
    speeches = text[:-1].split("\n\n")
    assert len(speeches) == 7_505
    speakers = set()
    for speech in speeches:
        speaker, *lines = speech.split("\n")
        assert SPEAKER_LINE.fullmatch(speaker), speaker
        assert lines and all(line.strip() == line and line for line in lines), speech
        speakers.add(speaker)
    assert {"MACBETH:", "LADY MACBETH:", "IAGO:", "PORTIA:", "ROSALIND:", "PETRUCHIO:"} <= speakers
    assert len(speakers) > 200


def test_no_licence_stage_directions_or_headings_are_left(text):
    assert "gutenberg" not in text.lower()
    assert not set("[]{}") & set(text)  # stage directions are written in brackets
    for line in text.split("\n"):
        assert not re.match(r"(ACT|Act|SCENE|Scene) [IVX1-9]+\b", line), line
        assert line not in ("THE END", "Exit.", "Exeunt.")


@pytest.mark.parametrize("play, speaker, line", [
    ("Othello", "RODERIGO", "Tush, never tell me; I take it much unkindly"),
    ("Macbeth", "FIRST WITCH", "When shall we three meet again?"),
    ("Julius Caesar", "ANTONY", "Friends, Romans, countrymen, lend me your ears;"),
    ("The Tempest", "PROSPERO", "We are such stuff"),
    ("Twelfth Night", "DUKE", "If music be the food of love, play on,"),
    ("Much Ado About Nothing", "BENEDICK", "I would my horse had the speed of your tongue,"),
    ("The Merchant of Venice", "PORTIA", "The quality of mercy is not strain'd;"),
    ("As You Like It", "JAQUES", "All the world's a stage,"),
    ("The Taming of the Shrew", "PETRUCHIO", "And kiss me, Kate; we will be married o' Sunday."),
])
def test_each_play_is_there_with_its_speakers(text, play, speaker, line):
    speech = next((s for s in text.split("\n\n") if line in s), None)
    assert speech is not None, f"{play}: {line!r} not found"
    assert speech.startswith(f"{speaker}:\n"), f"{play}: {line!r} is spoken by {speech.split(chr(10))[0]}"


def test_the_file_is_shipped_with_the_package():
    assert SHAKESPEARE_FILE.parent == ROOT / "tinygrad_opt" / "data"
    setup = configparser.ConfigParser()
    setup.read(ROOT / "setup.cfg")
    shipped = [name.strip() for name in setup["options.package_data"]["tinygrad_opt.data"].split(",")]
    assert SHAKESPEARE_FILE.name in shipped


def test_the_script_keeps_speeches_and_drops_the_rest(script):
    play = "\n".join([
        "THE TRAGEDY OF SOMEONE", "", "PERSONS REPRESENTED", "", "DUKE, a duke.", "", "ACT I.", "",
        "SCENE I. A street.", "", "[Enter DUKE and FIRST LORD.]", "",
        "DUKE.", "Good morrow,--[To FIRST LORD.] good lord.", "  Sing hey, sing ho,", "",
        "[Exit FIRST LORD. Enter a long procession", "of many people.]", "", "Now we are alone.", "",
        "FIRST LORD. [Within.] I come, I come.", "", "PAGE. My lord, 'tis but begun.", "",
        "VARRO. CLAUDIUS.", "My lord?", "", "III.", "Sing ho.", "",
        "[Exeunt.}", "", "THE END"])
    assert script.speeches(play) == [
        ("DUKE", ["Good morrow,-- good lord.", "Sing hey, sing ho,", "Now we are alone."]),
        ("FIRST LORD", ["I come, I come."]),
        ("PAGE", ["My lord, 'tis but begun."]),
        ("VARRO, CLAUDIUS", ["My lord?", "III.", "Sing ho."]),  # a stanza's number is no speaker
    ]
