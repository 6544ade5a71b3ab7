"""``python -m bot console`` (the README's first command): a person types questions and
button numbers and reads the bot's answers, buttons and notices."""

from __future__ import annotations

import io
from pathlib import Path

from bot.app.console import run_console
from tests.support.harness import make_config


async def _session(tmp_path: Path, *lines: str, lang: str = "en") -> str:
    out = io.StringIO()
    await run_console(make_config(tmp_path), stdin=io.StringIO("".join(f"{x}\n" for x in lines)),
                      out=out, lang=lang)
    return out.getvalue()


def _button(screen: str, label: str) -> str:
    """The number the console shows for the last button with this label."""
    for line in reversed(screen.splitlines()):
        for cell in line.split("   "):
            if cell.startswith("[") and cell.endswith(label):
                return cell[1:cell.index("]")]
    raise AssertionError(f"no button {label!r} on screen:\n{screen}")


async def test_a_question_its_answer_and_a_vote_with_the_bots_notice(tmp_path: Path) -> None:
    first = await _session(tmp_path, "how much are the fees?", "/quit")
    assert "Hello, Student!" in first  # /start's welcome
    assert "Tuition fees" in first and "👍" in first
    vote = _button(first, "👍")
    # The same answer in a second session: the buttons are numbered the same way.
    screen = await _session(tmp_path / "second", "how much are the fees?", vote, "/quit")
    assert "ⓘ Thank you for your feedback!" in screen


async def test_russian_text_html_like_input_an_unknown_number_and_quit(tmp_path: Path) -> None:
    screen = await _session(tmp_path, "Сколько стоит общежитие?", "<b>hi</b> & <script>",
                            "999", "/quit", "how much are the fees?", lang="ru")
    assert "Общежитие" in screen
    assert "<script>" not in screen and "<b>" not in screen  # escaped, shown as text
    assert "Traceback" not in screen
    # A prompt for each line up to /quit (and the first), none for the question after it.
    assert screen.count("\n> ") == 4 and "Tuition fees" not in screen
