"""clean_name: what an uploaded file's name may carry into the catalog, the logs and the web app."""

from __future__ import annotations

import pytest

from greenr.images.names import clean_name, clean_upload_name


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("meadow.jpg", "meadow.jpg"),
        ("lawn\x00.jpg", "lawn .jpg"),  # PostgreSQL refuses NUL in text
        ("a\nb\r\nc\x1b[31m.jpg", "a b c [31m.jpg"),  # no forged log lines, no terminal escapes
        ("photo\u202egpj.exe", "photogpj.exe"),  # shown as "photoexe.jpg" with the RTL override
        ("x\u2066y\u2069\u200e\u200f\u061c.png", "xy.png"),
        ("zero\u200bwidth\ufeff.jpg", "zerowidth.jpg"),
        ("caf\u0065\u0301.jpg", "caf\u00e9.jpg"),  # NFC
        (
            "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645.jpg",
            "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645.jpg",
        ),
        ("lone\ud800surrogate.jpg", "lonesurrogate.jpg"),
        ("  many   spaces\t.jpg ", "many spaces .jpg"),
        ("\x00\u202e\x01", ""),
        ("é" * 300, "é" * 255),
    ],
)
def test_clean_name(raw: str, expected: str) -> None:
    assert clean_name(raw) == expected


def test_clean_upload_name_keeps_the_base_name_and_falls_back() -> None:
    assert clean_upload_name("C:\\Users\\me\\photo\u202egpj.jpg", 0) == "photogpj.jpg"
    assert clean_upload_name("../../etc/passwd\x00", 1) == "passwd"
    assert clean_upload_name("\u202e\x00", 2) == "file-3"
    assert clean_upload_name(None, 3) == "file-4"
