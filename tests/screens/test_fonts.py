"""Finding a font that can draw Chinese, with a clear error when there is none."""

from __future__ import annotations

from pathlib import Path

import pytest

from screens.errors import FontNotFound, ScreensError
from screens.fonts import draws_chinese, find_cjk_font


def test_a_system_cjk_font_is_found_when_none_is_configured():
    path = find_cjk_font(None)
    assert path.is_file()


def test_the_configured_font_wins(tmp_path: Path):
    own = tmp_path / "mine.ttc"
    own.write_bytes(find_cjk_font(None).read_bytes())
    assert find_cjk_font(str(own)) == own


def test_a_configured_font_that_does_not_exist_is_an_error_naming_it(tmp_path: Path):
    missing = tmp_path / "nope.ttf"
    with pytest.raises(FontNotFound, match="nope.ttf") as caught:
        find_cjk_font(str(missing))
    assert "fonts-wqy-microhei" in str(caught.value)


def test_no_font_anywhere_says_where_it_looked_and_what_to_install(tmp_path: Path):
    with pytest.raises(FontNotFound) as caught:
        find_cjk_font(None, candidates=(tmp_path / "a.ttc", tmp_path / "b.ttf"), use_fontconfig=False)
    message = str(caught.value)
    assert "a.ttc" in message and "b.ttf" in message and "install fonts-wqy-microhei" in message
    assert isinstance(caught.value, (ScreensError, FileNotFoundError))


def test_the_found_font_really_draws_chinese():
    assert draws_chinese(find_cjk_font(None))


def test_a_configured_font_without_chinese_is_refused():
    latin_only = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
    if not latin_only.is_file():
        pytest.skip("DejaVu Sans is not installed here")
    assert not draws_chinese(latin_only)
    with pytest.raises(FontNotFound, match="no Chinese"):
        find_cjk_font(str(latin_only))
