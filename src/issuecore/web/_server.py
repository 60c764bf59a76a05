"""``issuecore serve``: the console on the desk the command line builds, behind uvicorn."""

from __future__ import annotations

from issuecore import HelpDesk
from issuecore.config import Config
from issuecore.errors import ConfigError
from issuecore.web._settings import WebSettings, is_loopback, web_settings

__all__ = ["check_exposure", "serve"]


def check_exposure(host: str, settings: WebSettings, *, source: str) -> None:
    """Raise :class:`~issuecore.errors.ConfigError` when ``host`` is reachable without sign-in."""
    if is_loopback(host) or settings.authenticated:
        return
    raise ConfigError.for_key(
        source,
        "web",
        f"refusing to serve the console on {host}, which is not a loopback address, "
        "without authentication; set web.accounts (agent accounts) or "
        "web.proxy_user_header (a reverse proxy's signed-in user), or listen on 127.0.0.1",
    )


def serve(
    desk: HelpDesk, config: Config, *, host: str | None = None, port: int | None = None
) -> int:
    """Serve the console for ``desk`` until interrupted; return the exit code."""
    import uvicorn

    from issuecore.web._app import create_app

    settings = web_settings(config)
    host = host if host is not None else settings.host
    port = port if port is not None else settings.port
    check_exposure(host, settings, source=config.source)
    app = create_app(desk, settings, zone=config.display_timezone())
    uvicorn.run(app, host=host, port=port, log_level="info", proxy_headers=False)
    return 0
