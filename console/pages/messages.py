"""Messages to customers in the back office: the program's templates previewed, and the ones whose attempts ran out."""

from __future__ import annotations

from console.app import Page, Reply, page
from shared.edge import entry
from shared.platform.settings import settings
from shared.services.admin import messages
from shared.services.admin import program as program_admin


@page("GET", "/messages/failed")
def failed(p: Page) -> Reply:
    p.require("message.failed")
    found = messages.failed_messages(entry.store(), p.admin)
    return p.render("messages_failed.html", found=found, triggers_ru=messages.TRIGGERS_RU, channels_ru=messages.CHANNELS_RU)


@page("GET", "/messages")
def templates(p: Page) -> Reply:
    p.require("config.read")
    in_force = program_admin.config_view(entry.store(), p.admin, program_name=settings().program, now=p.now)
    shown = messages.previews(in_force.config)
    return p.render("messages_list.html", in_force=in_force, shown=shown, sample=messages.SAMPLE, triggers_ru=messages.TRIGGERS_RU, channels_ru=messages.CHANNELS_RU)
