"""Every console screen in one layout, readable on a laptop and usable on a tablet: each section a role
can open renders with the shared header and navigation, its inputs labelled, and no page-wide
horizontal scrolling at a tablet's width (wide tables scroll inside their own frame)."""

from __future__ import annotations

import pytest

from tests.browser.conftest import Console

TABLET = {"width": 820, "height": 1180}
UNLABELLED = """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
  .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !e.getAttribute('aria-labelledby'))
  .map(e => e.name || e.id)"""


@pytest.mark.parametrize("role", ["admin", "manager"])
def test_every_section_renders_in_the_one_layout_and_fits_a_tablet(console: Console, role: str) -> None:
    tab = console.page_as(role)
    try:
        tab.set_viewport_size(TABLET)
        links = tab.get_by_role("navigation", name="Разделы").get_by_role("link")
        paths = [links.nth(i).get_attribute("href") for i in range(links.count())]
        assert len(paths) >= 5, paths
        for path in paths:
            answer = tab.goto(console.url + str(path))
            assert answer is not None and answer.status == 200, path
            assert tab.title().endswith("— Копилка"), path
            nav = tab.get_by_role("navigation", name="Разделы")
            assert nav.locator("[aria-current=page]").count() == 1, path
            assert nav.get_by_role("link", name=nav.locator("[aria-current=page]").inner_text(), exact=True).count() == 1, path
            assert tab.locator("h1").count() >= 1, path
            assert tab.evaluate(UNLABELLED) == [], path
            overflow = tab.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at a tablet's width"
    finally:
        tab.context.close()
