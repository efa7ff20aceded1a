"""The overview: the start page after sign-in."""

from __future__ import annotations

from console.app import SECTIONS, Page, Reply, page


@page("GET", "/")
def home(p: Page) -> Reply:
    sections = [(path, title) for path, title, action in SECTIONS[1:] if p.can(action)]
    return p.render("home.html", sections=sections)
