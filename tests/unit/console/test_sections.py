"""The navigation marks one section as the current page: the deepest one the path lies in."""

from __future__ import annotations

import pytest

from console.app import current_section


@pytest.mark.parametrize(
    ("path", "section"),
    [
        ("/", "/"),
        ("/customers", "/customers"),
        ("/customers/anna", "/customers"),
        ("/messages", "/messages"),
        ("/messages/failed", "/messages/failed"),
        ("/orders/flagged", "/orders/flagged"),
        ("/login", None),
    ],
)
def test_the_current_section_is_the_deepest_one_the_path_is_in(path, section):
    assert current_section(path) == section
