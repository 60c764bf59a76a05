"""The agent console in the browser (the ``web`` extra): ``issuecore serve``, or mount it yourself.

:func:`create_app` returns an ASGI application for any
:class:`~issuecore.HelpDesk`; :func:`web_settings` reads the ``[web]``
table of ``issuecore.toml``; :func:`serve` is what ``issuecore serve`` runs.
"""

from issuecore.web._app import create_app
from issuecore.web._server import check_exposure, serve
from issuecore.web._settings import WebSettings, is_loopback, web_settings

__all__ = ["WebSettings", "check_exposure", "create_app", "is_loopback", "serve", "web_settings"]
