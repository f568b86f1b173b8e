"""The selector engine: normalising text, the loader's line-numbered errors, operator files and locale choice."""

from pathlib import Path

import pytest

from devices.selectors import SelectorFileError, find_element, load_every_app, load_selectors, normalise
from devices.ui import UiNode


def node(text="", desc="", resource_id="", clickable=True):
    return UiNode(text=text, content_desc=desc, resource_id=resource_id, class_name="android.widget.Button",
                  clickable=clickable, bounds=(0, 0, 10, 10))


def test_normalise():
    assert normalise("Don\u2019t allow") == normalise("Don't allow") == "don't allow"
    assert normalise("\u200e3 comments\u200f") == "3 comments"
    assert normalise("  Not\u00a0  Now ") == "not now"
    assert normalise("ＦＯＬＬＯＷ") == "follow"
    assert normalise("Straße") == normalise("STRASSE")
    assert normalise("Add comment\u2026") == "add comment..."


def test_shipped_files_load():
    tiktok = load_selectors("tiktok")
    assert len(tiktok.elements["follow_button"][0].labels) == 17
    assert load_selectors("instagram").interruptions["captcha"].blocking == "needs_attention"


def test_wrong_file_names_the_line(tmp_path: Path):
    (tmp_path / "tiktok.yaml").write_text(
        "app: tiktok\nelements:\n  follow_button:\n    - field: text\n      source: '[X]'\n      match: fuzzy\n"
        "      labels: {en: Follow}\n")
    with pytest.raises(SelectorFileError, match=r"tiktok.yaml:6: elements.follow_button.0.match"):
        load_selectors("tiktok", tmp_path)


def test_unsourced_simulator_string_refused(tmp_path: Path):
    (tmp_path / "tiktok.yaml").write_text("app: tiktok\nelements:\n  x:\n    - {source: simulator, labels: {en: X}}\n")
    with pytest.raises(SelectorFileError, match=r"tiktok.yaml:4: elements.x.0"):
        load_selectors("tiktok", tmp_path)


def test_operator_label_comes_first(tmp_path: Path):
    (tmp_path / "tiktok.yaml").write_text(
        "app: tiktok\nelements:\n  follow_button:\n    - {source: operator, labels: {en: Follow now}}\n")
    selectors = load_selectors("tiktok", tmp_path)
    assert find_element(selectors, "follow_button", [node("Follow now")]).label == "Follow now"
    assert find_element(selectors, "follow_button", [node("Obserwuj")]).locale == "pl"


def test_phone_locale_is_tried_first():
    selectors = load_selectors("tiktok")
    # "Profil" is pl, fr, de, id and tr: the phone's locale decides which one is reported.
    assert find_element(selectors, "profile_tab", [node(desc="Profil")], "de-DE").locale == "de"
    assert find_element(selectors, "profile_tab", [node(desc="Profil")], "tr").locale == "tr"
    assert find_element(selectors, "profile_tab", [node(desc="โปรไฟล์")], None).locale == "th"


def test_ids_never_decide_alone():
    selectors = load_selectors("instagram")
    assert find_element(selectors, "follow_button", [node(resource_id="com.instagram.android:id/profile_header_follow_button")]) is None


def test_a_prefix_label_keeps_its_trailing_space():
    selectors = load_selectors("tiktok")
    assert find_element(selectors, "follow_button", [node(desc="Follow ava")]).element == "follow_button"
    assert find_element(selectors, "follow_button", [node(desc="Following")]) is None


def test_an_operator_file_named_after_no_app_is_refused(tmp_path: Path):
    (tmp_path / "tiktk.yaml").write_text("app: tiktk\n")
    with pytest.raises(SelectorFileError, match=r"tiktk.yaml:1: no app is called 'tiktk'"):
        load_every_app(tmp_path)


def test_the_worker_refuses_to_start_on_a_wrong_operator_file(tmp_path: Path, monkeypatch, capsys):
    from worker.fast_worker import main
    (tmp_path / "selectors").mkdir()
    (tmp_path / "selectors" / "instagram.yaml").write_text(
        "app: instagram\nelements:\n  follow_button:\n    - {source: operator, field: label, labels: {pl: Obserwuj}}\n")
    monkeypatch.setenv("PHONEFARM_DATA_DIR", str(tmp_path))
    with pytest.raises(SystemExit) as exited:
        main(["--pool", "phone-farm"])
    assert exited.value.code == 2
    assert "instagram.yaml:4: elements.follow_button.0.field" in capsys.readouterr().err
