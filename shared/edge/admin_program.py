"""The admin function's routes for a draft program: checked and compared with the version in force,
a cart priced with it, and one stored version (registered by ``functions/admin/main.py`` on its
router, under the same token and role checks)."""

from __future__ import annotations

from typing import Any

from shared.api.admin.config_tools import ConfigDraftRequest, ConfigDraftResponse, ConfigPreviewRequest, ConfigPreviewResponse, ConfigVersionView, VersionPath
from shared.edge import admin_auth, entry
from shared.edge.http import Context, Router, parse
from shared.platform.settings import settings
from shared.services.admin import config_tools


def register(router: Router) -> None:
    @router.post("/config/draft")
    def config_draft(request: Any, ctx: Context) -> ConfigDraftResponse:
        admin = admin_auth.authenticate(entry.store(), request, ctx.now).require("config.read")
        return config_tools.config_draft(entry.store(), admin, program_name=settings().program, raw=ctx.body(ConfigDraftRequest).config, now=ctx.now)

    @router.post("/config/preview")
    def config_preview(request: Any, ctx: Context) -> ConfigPreviewResponse:
        admin = admin_auth.authenticate(entry.store(), request, ctx.now).require("config.read")
        return config_tools.config_preview(entry.store(), admin, program_name=settings().program, body=ctx.body(ConfigPreviewRequest), now=ctx.now)

    @router.get("/config/versions/{version}")
    def config_version(request: Any, ctx: Context) -> ConfigVersionView:
        admin = admin_auth.authenticate(entry.store(), request, ctx.now).require("config.read")
        return config_tools.config_version(entry.store(), admin, program_name=settings().program, number=parse(VersionPath, ctx.params).version, now=ctx.now)
