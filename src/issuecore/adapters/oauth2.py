"""OAuth2 access tokens for mailboxes: XOAUTH2 for IMAP and SMTP, Microsoft 365 and Google.

:class:`~issuecore.adapters.imap.ImapSource` and
:class:`~issuecore.adapters.smtp.SmtpMailer` log in with XOAUTH2 when given a
``token_provider``: any callable returning an access token (the
:class:`~issuecore.ports.TokenProvider` port). When the server refuses the
token they ask once for a fresh one (:func:`fresh_token`) and try again.

Three providers ship here:

- :class:`Microsoft365Tokens`: an Entra ID application's client credentials
  (secret or certificate) through ``msal``; install ``issuecore[m365]``.
- :class:`GoogleTokens`: a service account with domain-wide delegation, or
  an authorised user's refresh token, through ``google-auth``; install
  ``issuecore[google]``.
- :class:`CommandTokens`: a command that prints a token (``oama``,
  ``oauth2ms``, a vault client...), for any other provider.

The optional packages are imported only when a provider is built; without
them :class:`~issuecore.errors.MissingExtraError` names the extra to
install. A token that cannot be had raises
:class:`~issuecore.errors.AccessTokenError`; no secret, token or key is
ever part of its message or of a ``repr``.
"""

from __future__ import annotations

import importlib
import re
import subprocess
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from issuecore.errors import AccessTokenError, MissingExtraError
from issuecore.ports import TokenProvider

__all__ = [
    "GOOGLE_MAIL_SCOPE",
    "MICROSOFT_365_SCOPE",
    "CommandTokens",
    "GoogleTokens",
    "Microsoft365Tokens",
    "fresh_token",
    "token_from",
    "xoauth2_response",
]

MICROSOFT_365_SCOPE: Final = "https://outlook.office365.com/.default"
"""The scope of IMAP and SMTP access to Exchange Online for an application."""
GOOGLE_MAIL_SCOPE: Final = "https://mail.google.com/"
"""The scope of IMAP and SMTP access to Gmail."""

# RFC 6750's b64token: what a bearer token may hold. Nothing else reaches the server.
_TOKEN: Final = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
_USER_UNSAFE: Final = re.compile(r"[\x00-\x1f\x7f]")


def _describe(provider: object) -> str:
    name = getattr(provider, "name", None)
    return name if isinstance(name, str) and name else "the token provider"


def token_from(provider: TokenProvider, *, refresh: bool = False) -> str:
    """Return an access token from ``provider``, a fresh one with ``refresh=True``.

    A fresh token comes from the provider's ``refresh()`` method when it has
    one, else from calling it again. Anything other than a token, or any
    failure, raises :class:`~issuecore.errors.AccessTokenError`.
    """
    name = _describe(provider)
    refresher = getattr(provider, "refresh", None) if refresh else None
    try:
        token = refresher() if callable(refresher) else provider()
    except AccessTokenError:
        raise
    except Exception as error:
        raise AccessTokenError.refused(name, f"it failed with {type(error).__name__}") from error
    if not isinstance(token, str) or _TOKEN.fullmatch(token) is None:
        raise AccessTokenError.refused(
            name, f"it returned {type(token).__name__} that is not a bearer token"
        )
    return token


def fresh_token(provider: TokenProvider) -> str:
    """Return a fresh access token from ``provider``, bypassing any cache it keeps."""
    return token_from(provider, refresh=True)


def xoauth2_response(user: str, token: str) -> str:
    """Return the SASL XOAUTH2 initial response for ``user`` and ``token`` (not base64-encoded)."""
    if not user or _USER_UNSAFE.search(user):
        raise ValueError("an XOAUTH2 user name must be non-empty and hold no control characters")
    if _TOKEN.fullmatch(token) is None:
        raise ValueError("an XOAUTH2 token must be a bearer token (RFC 6750)")
    return f"user={user}\x01auth=Bearer {token}\x01\x01"


def _import(module: str, *, extra: str, package: str, purpose: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtraError.for_extra(extra, package, purpose) from None


class Microsoft365Tokens:
    """Access tokens for Exchange Online from an Entra ID application (client credentials).

    ``tenant`` is the directory (``contoso.onmicrosoft.com`` or its GUID),
    ``client_id`` the application's id, and either ``client_secret`` or
    ``certificate`` (``{"private_key": PEM, "thumbprint": hex}`` as ``msal``
    takes it). The application needs the ``IMAP.AccessAsApp`` and
    ``SMTP.SendAsApp`` permissions and a service principal with access to
    the mailbox (see docs/mail-transports.md). Tokens are cached until they
    expire; :meth:`refresh` drops the cache. ``authority`` overrides
    ``https://login.microsoftonline.com/<tenant>``; ``http_client`` and
    ``options`` go to :class:`msal.ConfidentialClientApplication`.
    """

    name = "Microsoft 365"

    def __init__(
        self,
        *,
        tenant: str,
        client_id: str,
        client_secret: str | None = None,
        certificate: Mapping[str, str] | None = None,
        scopes: Sequence[str] = (MICROSOFT_365_SCOPE,),
        authority: str | None = None,
        http_client: object | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> None:
        if (client_secret is None) == (certificate is None):
            raise ValueError("give client_secret or certificate, exactly one of them")
        self._msal = _import("msal", extra="m365", package="msal", purpose="Microsoft 365 sign-in")
        self.tenant = tenant
        self.client_id = client_id
        self.scopes = tuple(scopes)
        self.authority = authority or f"https://login.microsoftonline.com/{tenant}"
        self._credential: Any = (
            client_secret if client_secret is not None else dict(certificate or {})
        )
        self._options: dict[str, Any] = dict(options or {})
        if http_client is not None:
            self._options["http_client"] = http_client
        self._cache = self._msal.TokenCache()
        self._app: Any = None

    def _application(self) -> Any:
        # Built on first use: msal asks the authority for its endpoints when it is built.
        if self._app is None:
            try:
                self._app = self._msal.ConfidentialClientApplication(
                    self.client_id,
                    client_credential=self._credential,
                    authority=self.authority,
                    token_cache=self._cache,
                    **self._options,
                )
            except Exception as error:
                raise AccessTokenError.refused(
                    self.name, f"the sign-in service could not be set up ({type(error).__name__})"
                ) from error
        return self._app

    def __repr__(self) -> str:
        return f"Microsoft365Tokens(tenant={self.tenant!r}, client_id={self.client_id!r})"

    def __call__(self) -> str:
        """Return an access token, from the cache while it is valid."""
        application = self._application()
        try:
            result = application.acquire_token_for_client(scopes=list(self.scopes))
        except Exception as error:
            raise AccessTokenError.refused(
                self.name, f"the sign-in service could not be reached ({type(error).__name__})"
            ) from error
        token = result.get("access_token") if isinstance(result, Mapping) else None
        if not isinstance(token, str):
            raise AccessTokenError.refused(self.name, _entra_error(result))
        return token

    def refresh(self) -> str:
        """Return a new access token, never one from the cache."""
        kind = self._cache.CredentialType.ACCESS_TOKEN
        for cached in list(self._cache.search(kind)):
            self._cache.remove_at(cached)
        return self()


def _entra_error(result: object) -> str:
    if not isinstance(result, Mapping):
        return "the sign-in service answered nothing usable"
    error = str(result.get("error", "no access_token in the answer"))
    # The description's first line names the AADSTS code and the cause; no secret is in it.
    description = str(result.get("error_description", "")).strip().splitlines()
    return f"{error}: {description[0][:300]}" if description else error


class GoogleTokens:
    """Access tokens for Gmail through ``google-auth``.

    Build it with :meth:`service_account` (a Workspace service account with
    domain-wide delegation, acting as the mailbox ``subject``) or
    :meth:`authorized_user` (a refresh token from a consent given once), or
    pass any ``google.auth.credentials.Credentials``. ``request`` is the
    ``google.auth.transport.Request`` used to refresh (the ``requests``
    transport by default).
    """

    name = "Google"

    def __init__(self, credentials: Any, *, request: Callable[..., Any] | None = None) -> None:
        self._credentials = credentials
        if request is None:
            transport = _import(
                "google.auth.transport.requests",
                extra="google",
                package="google-auth[requests]",
                purpose="Google sign-in",
            )
            request = transport.Request()
        self._request = request

    @classmethod
    def service_account(
        cls,
        info: Mapping[str, Any],
        *,
        subject: str,
        scopes: Sequence[str] = (GOOGLE_MAIL_SCOPE,),
        request: Callable[..., Any] | None = None,
    ) -> GoogleTokens:
        """Return tokens of the service account whose key holds ``info``, acting as ``subject``."""
        module = _import(
            "google.oauth2.service_account",
            extra="google",
            package="google-auth",
            purpose="Google sign-in",
        )
        try:
            credentials = module.Credentials.from_service_account_info(
                dict(info), scopes=list(scopes), subject=subject
            )
        except Exception as error:
            raise AccessTokenError.refused(
                cls.name, f"the service account key is not usable ({type(error).__name__})"
            ) from error
        return cls(credentials, request=request)

    @classmethod
    def authorized_user(
        cls,
        *,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        token_uri: str = "https://oauth2.googleapis.com/token",
        scopes: Sequence[str] = (GOOGLE_MAIL_SCOPE,),
        request: Callable[..., Any] | None = None,
    ) -> GoogleTokens:
        """Return tokens of the user who granted ``refresh_token`` to the OAuth client."""
        module = _import(
            "google.oauth2.credentials",
            extra="google",
            package="google-auth",
            purpose="Google sign-in",
        )
        credentials = module.Credentials(
            None,
            refresh_token=refresh_token,
            client_id=client_id,
            client_secret=client_secret,
            token_uri=token_uri,
            scopes=list(scopes),
        )
        return cls(credentials, request=request)

    def __repr__(self) -> str:
        return f"GoogleTokens({type(self._credentials).__name__})"

    def __call__(self) -> str:
        """Return an access token, refreshing it first when it expired or was never fetched."""
        if not getattr(self._credentials, "valid", False):
            return self.refresh()
        token = self._credentials.token
        if not isinstance(token, str):
            return self.refresh()
        return token

    def refresh(self) -> str:
        """Return a new access token from Google."""
        try:
            self._credentials.refresh(self._request)
        except Exception as error:
            raise AccessTokenError.refused(self.name, _google_error(error)) from error
        token = self._credentials.token
        if not isinstance(token, str):
            raise AccessTokenError.refused(self.name, "the answer held no access token")
        return token


def _google_error(error: Exception) -> str:
    # RefreshError carries ("invalid_grant: Bad Request", {response}); the first part is enough.
    first = error.args[0] if error.args else ""
    detail = first if isinstance(first, str) and first else type(error).__name__
    return f"{type(error).__name__}: {detail.splitlines()[0][:300]}"


class CommandTokens:
    """Access tokens printed by a command: ``CommandTokens(["oama", "access", "me@example.com"])``.

    The command runs without a shell each time a token is needed (it should
    cache tokens itself); its standard output, stripped, is the token. It
    fails with :class:`~issuecore.errors.AccessTokenError` when it exits
    with another status than 0, prints nothing, or runs longer than
    ``timeout`` seconds. What it prints on standard error is not shown (it
    may hold secrets).
    """

    name = "the token command"

    def __init__(self, argv: Sequence[str], *, timeout: float = 60.0) -> None:
        if not argv or not all(isinstance(part, str) and part for part in argv):
            raise ValueError("a token command is a non-empty list of non-empty strings")
        self.argv = tuple(argv)
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"CommandTokens({self.argv[0]!r}, ...)"

    def __call__(self) -> str:
        """Run the command and return what it printed."""
        program = self.argv[0]
        try:
            done = subprocess.run(
                self.argv,
                capture_output=True,
                timeout=self.timeout,
                check=False,
                stdin=subprocess.DEVNULL,
            )
        except FileNotFoundError as error:
            raise AccessTokenError.refused(self.name, f"{program!r} was not found") from error
        except subprocess.TimeoutExpired as error:
            raise AccessTokenError.refused(
                self.name, f"{program!r} ran longer than {self.timeout:g} s"
            ) from error
        except OSError as error:
            raise AccessTokenError.refused(
                self.name, f"{program!r} could not be run ({error.strerror})"
            ) from error
        if done.returncode != 0:
            raise AccessTokenError.refused(self.name, f"{program!r} exited with {done.returncode}")
        token = done.stdout.decode("ascii", "replace").strip()
        if not token:
            raise AccessTokenError.refused(self.name, f"{program!r} printed no token")
        return token
