"""The [web] table, refusing to serve an open console beyond loopback, proxies and accounts."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from web_support import AGENT, QUICK_HASHER, SECRET, START, Console, build_console

from issuecore.adapters.memory import InMemoryStore
from issuecore.adapters.sqlite import SQLiteStore
from issuecore.cli import EXIT_USAGE, main
from issuecore.config import parse_config
from issuecore.errors import ConfigError, InvalidArgumentError, UnstorableValueError
from issuecore.testing import FakeClock
from issuecore.web import AccountBook, WebSettings, check_exposure, is_loopback, web_settings


def settings_of(text: str, tmp_path: Path | None = None) -> WebSettings:
    return web_settings(parse_config(text, source="site.toml", base=tmp_path or Path("/srv")))


# --- the [web] table ----------------------------------------------------------------------


def test_without_a_web_table_the_console_listens_on_loopback_without_auth() -> None:
    settings = settings_of("")
    assert (settings.host, settings.port, settings.authenticated) == ("127.0.0.1", 8080, False)
    assert settings.session_lifetime == timedelta(hours=8)
    assert settings.contact_form is False


def test_the_web_table_is_read() -> None:
    settings = settings_of(
        '[web]\nhost = "0.0.0.0"\nport = 9000\naccounts = true\n'
        'session_lifetime = "30m"\nsecure_cookies = true\n'
        'secret_key = "' + "ab" * 32 + '"\n'
    )
    assert settings.host == "0.0.0.0"
    assert settings.port == 9000
    assert settings.accounts is True
    assert settings.session_lifetime == timedelta(minutes=30)
    assert settings.secure_cookies is True
    assert settings.secret_key == bytes.fromhex("ab" * 32)
    assert settings.authenticated


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("colour = 1", "site.toml: web.colour: unknown key; known here: host, port"),
        ("port = 0", "web.port: must be a whole number from 1 to 65535, got 0"),
        ("port = 65536", "web.port: must be a whole number from 1 to 65535, got 65536"),
        ('session_lifetime = "soon"', "web.session_lifetime: 'soon' is not a duration"),
        ('secret_key = "abcd"', "web.secret_key: must hold at least 32 hexadecimal digits"),
        ("secure_cookies = 1", "web.secure_cookies: must be true or false"),
        ('trusted_proxies = ["proxy"]', "web.trusted_proxies: 'proxy' is not an IP address"),
        ('secret_key_env = "NO_SUCH_VARIABLE_HERE"', "NO_SUCH_VARIABLE_HERE is not set"),
        ("secret_key_env = 5", "web.secret_key_env: must name an environment variable"),
        ("host = 5", "web.host: must be a non-empty string"),
        ('host = "  "', "web.host: must be a non-empty string"),
        ('session_lifetime = "0m"', "web.session_lifetime: must be longer than zero"),
        ('trusted_proxies = "127.0.0.1"', "web.trusted_proxies: must be a list of IP addresses"),
        (
            'contact_frame_ancestors = ["*"]',
            'web.contact_frame_ancestors: must be a list of origins like "https://www.example.com"',
        ),
        (
            'contact_frame_ancestors = "https://a.example"',
            "web.contact_frame_ancestors: must be a list of origins",
        ),
        ("contact_limit = 0", "web.contact_limit: must be a whole number from 1 to 10000"),
        ("contact_max_bytes = 999", "web.contact_max_bytes: must be a whole number from 1000"),
    ],
)
def test_a_wrong_web_key_names_itself(line: str, problem: str) -> None:
    with pytest.raises(ConfigError) as raised:
        settings_of(f"[web]\n{line}\n")
    assert problem in str(raised.value)


def test_proxies_origins_and_a_key_from_the_environment_are_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WEB_SECRET_FOR_TEST", "ef" * 16)
    settings = settings_of(
        "[web]\n"
        'proxy_user_header = "X-Remote-User"\n'
        'trusted_proxies = ["10.0.0.5", "::1"]\n'
        'contact_frame_ancestors = ["https://www.example.com", "http://localhost:8000"]\n'
        'secret_key_env = "WEB_SECRET_FOR_TEST"\n'
        'contact_window = "2h"\n'
    )
    assert settings.proxy_user_header == "X-Remote-User"
    assert settings.trusted_proxies == ("10.0.0.5", "::1")
    assert settings.contact_frame_ancestors == ("https://www.example.com", "http://localhost:8000")
    assert settings.secret_key == bytes.fromhex("ef" * 16)
    assert settings.contact_window == timedelta(hours=2)
    assert settings.authenticated


def test_the_lowest_and_highest_ports_are_accepted() -> None:
    assert settings_of("[web]\nport = 1\n").port == 1
    assert settings_of("[web]\nport = 65535\n").port == 65535


def test_the_session_key_is_derived_from_the_signing_key_never_equal_to_it() -> None:
    key = "cd" * 32
    settings = settings_of(f'signing_key = "{key}"\n')
    again = settings_of(f'signing_key = "{key}"\n')
    assert settings.secret_key == again.secret_key
    assert settings.secret_key != bytes.fromhex(key)


def test_a_web_table_that_is_no_table_is_refused() -> None:
    with pytest.raises(ConfigError, match="web: must be a table"):
        parse_config('web = "on"\n', source="site.toml")


# --- loopback and exposure ----------------------------------------------------------------


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "127.255.255.254", "::1", "[::1]", "localhost", "LOCALHOST"]
)
def test_loopback_hosts(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize(
    "host", ["0.0.0.0", "::", "192.168.1.10", "10.0.0.1", "128.0.0.1", "example.com", ""]
)
def test_hosts_beyond_loopback(host: str) -> None:
    assert not is_loopback(host)


def test_an_open_console_is_refused_beyond_loopback() -> None:
    with pytest.raises(ConfigError) as raised:
        check_exposure("0.0.0.0", WebSettings(secret_key=SECRET), source="site.toml")
    assert "refusing to serve the console on 0.0.0.0" in str(raised.value)


def test_an_open_console_may_serve_loopback() -> None:
    check_exposure("127.0.0.1", WebSettings(secret_key=SECRET), source="site.toml")


def test_a_console_with_accounts_or_a_proxy_may_serve_any_address() -> None:
    check_exposure("0.0.0.0", WebSettings(secret_key=SECRET, accounts=True), source="s")
    check_exposure(
        "0.0.0.0", WebSettings(secret_key=SECRET, proxy_user_header="X-Remote-User"), source="s"
    )


def test_issuecore_serve_refuses_an_open_console_beyond_loopback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "issuecore.toml"
    config.write_text(f'signing_key = "{"ab" * 32}"\n[web]\nhost = "0.0.0.0"\n')
    code = main(["--config", str(config), "serve"])
    assert code == EXIT_USAGE
    assert "refusing to serve the console on 0.0.0.0" in capsys.readouterr().err


def test_issuecore_serve_refuses_a_host_given_on_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "issuecore.toml"
    config.write_text(f'signing_key = "{"ab" * 32}"\n')
    code = main(["--config", str(config), "serve", "--host", "192.168.1.10"])
    assert code == EXIT_USAGE
    assert "refusing to serve the console on 192.168.1.10" in capsys.readouterr().err


# --- an open console on loopback ------------------------------------------------------------


@pytest.fixture
def open_console(tmp_path: Path) -> Iterator[Console]:
    yield from build_console(tmp_path, settings=WebSettings(secret_key=SECRET))


def test_an_open_console_acts_as_the_first_agent(open_console: Console) -> None:
    number = open_console.desk.open_issue(subject="x", raised_by="a@x.test", body="b").number
    open_console.post(f"/issues/{number}/note", {"body": "Seen"})
    assert open_console.desk.thread(number)[-1].author == AGENT


def test_an_open_console_answers_only_loopback_host_names(open_console: Console) -> None:
    response = open_console.client.get("/issues", headers={"host": "evil.example"})
    assert response.status_code == 400
    assert open_console.client.get("/issues", headers={"host": "127.0.0.1"}).status_code == 200


def test_an_open_console_still_demands_the_csrf_token(open_console: Console) -> None:
    number = open_console.desk.open_issue(subject="x", raised_by="a@x.test", body="b").number
    response = open_console.client.post(f"/issues/{number}/act", data={"action": "close"})
    assert response.status_code == 403


# --- a reverse proxy's user -----------------------------------------------------------------


@pytest.fixture
def proxied(tmp_path: Path) -> Iterator[Console]:
    settings = WebSettings(
        secret_key=SECRET, proxy_user_header="X-Remote-User", trusted_proxies=("testclient",)
    )
    yield from build_console(tmp_path, settings=settings)


def test_the_proxys_user_is_signed_in(proxied: Console) -> None:
    response = proxied.client.get("/issues", headers={"X-Remote-User": "cleo@example.com"})
    assert response.status_code == 200
    assert "cleo@example.com" in response.text


def test_without_the_proxys_header_nobody_is_signed_in(proxied: Console) -> None:
    assert proxied.client.get("/issues", follow_redirects=False).status_code == 303


def test_the_header_from_an_untrusted_address_is_ignored(tmp_path: Path) -> None:
    settings = WebSettings(
        secret_key=SECRET, proxy_user_header="X-Remote-User", trusted_proxies=("127.0.0.1",)
    )
    for console in build_console(tmp_path, settings=settings):
        response = console.client.get(
            "/issues", headers={"X-Remote-User": AGENT}, follow_redirects=False
        )
        assert response.status_code == 303


# --- the accounts the store keeps -------------------------------------------------------------


@pytest.fixture
def book() -> AccountBook:
    return AccountBook(InMemoryStore(), FakeClock(START), hasher=QUICK_HASHER)


def test_an_account_verifies_only_its_own_password(book: AccountBook) -> None:
    assert book.set_password("Ben@Example.com", "a long password") == "ben@example.com"
    assert book.verify("BEN@example.com", "a long password") == "ben@example.com"
    assert book.verify("ben@example.com", "a long passwore") is None
    assert book.verify("eve@example.com", "a long password") is None


def test_the_store_holds_argon2_hashes_never_the_password(book: AccountBook) -> None:
    book.set_password(AGENT, "a long password")
    with book.store.transaction(read_only=True) as work:
        account = work.accounts.get(AGENT)
    assert account is not None
    assert account.password_hash.startswith("$argon2id$")
    assert "a long password" not in account.password_hash
    assert "a long password" not in repr(account)
    assert account.changed_at == START


def test_a_password_of_nine_characters_is_too_short_and_ten_enough(book: AccountBook) -> None:
    with pytest.raises(InvalidArgumentError, match="at least 10 characters") as refused:
        book.set_password(AGENT, "x" * 9)
    assert refused.value.argument == "password"
    assert "x" * 9 not in str(refused.value)
    with pytest.raises(InvalidArgumentError, match="bytes, not text"):
        book.set_password(AGENT, b"a long password")  # type: ignore[arg-type]
    book.set_password(AGENT, "x" * 10)
    assert book.addresses() == [AGENT]


def test_removing_an_account(book: AccountBook) -> None:
    book.set_password(AGENT, "a long password")
    assert book.remove(AGENT)
    assert not book.remove(AGENT)
    assert not book.remove("no address")
    assert book.verify(AGENT, "a long password") is None


def test_an_account_needs_an_address(book: AccountBook) -> None:
    for wrong in ("ben", "ben @example.com", "", "ben\x00@example.com", "b" * 400 + "@x.test"):
        with pytest.raises(InvalidArgumentError, match="it is no e-mail address") as refused:
            book.set_password(wrong, "a long password")
        assert refused.value.argument == "address"
    assert not book


@pytest.mark.parametrize(
    "address", ["ben\x00@example.com", "ben\udcff@example.com", "b" * 100_000, "\x00"]
)
def test_hostile_addresses_never_verify_and_never_reach_the_store(
    book: AccountBook, address: str
) -> None:
    book.set_password(AGENT, "a long password")
    assert book.verify(address, "a long password") is None


def _accounts_file(tmp_path: Path, agents: object) -> Path:
    path = tmp_path / "agents.json"
    path.write_text(json.dumps({"agents": agents}), encoding="utf-8")
    return path


def test_an_accounts_file_is_imported_with_its_hashes(tmp_path: Path, book: AccountBook) -> None:
    hashed = QUICK_HASHER.hash("the old password")
    book.set_password("zoe@example.com", "a stored password")
    path = _accounts_file(tmp_path, {"Ben@Example.com": hashed, "zoe@example.com": hashed})
    report = book.import_file(path)
    assert (report.added, report.kept) == (("ben@example.com",), ("zoe@example.com",))
    assert book.verify(AGENT, "the old password") == AGENT
    assert book.verify("zoe@example.com", "a stored password") == "zoe@example.com"
    again = book.import_file(path)
    assert (again.added, again.kept) == ((), ("ben@example.com", "zoe@example.com"))


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ('{"agents": ["ben"]}', "agents: must be an object"),
        ("{not json", "is not an accounts file"),
        (b"\xff\xfe", "is not an accounts file"),
        ('{"agents": {"ben": "$argon2id$x"}}', "'ben' is not an address"),
        ('{"agents": {"ben@example.com": "plain"}}', "must be an argon2 hash"),
        ('{"agents": {"ben@example.com": 7}}', "must be an argon2 hash"),
    ],
)
def test_a_broken_accounts_file_is_a_config_error_and_imports_nothing(
    tmp_path: Path, book: AccountBook, content: str | bytes, problem: str
) -> None:
    path = tmp_path / "agents.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match=problem):
        book.import_file(path)
    assert book.addresses() == []


def test_a_hash_no_store_can_keep_is_refused_and_imports_nothing(
    tmp_path: Path, book: AccountBook
) -> None:
    good = QUICK_HASHER.hash("the old password")
    path = _accounts_file(tmp_path, {"ana@example.com": good, AGENT: "$argon2id$" + "x" * 600})
    with pytest.raises(UnstorableValueError, match="password_hash"):
        book.import_file(path)
    assert book.addresses() == []


def test_an_accounts_file_in_the_web_table_says_how_to_import_it() -> None:
    with pytest.raises(ConfigError) as raised:
        settings_of('[web]\naccounts = "agents.json"\n')
    assert "issuecore accounts import /srv/agents.json" in str(raised.value)
    assert "accounts = true" in str(raised.value)
    with pytest.raises(ConfigError, match=r"web\.accounts: must be true or false"):
        settings_of("[web]\naccounts = 1\n")


# --- issuecore accounts ------------------------------------------------------------------------


Cli = Callable[..., tuple[int, str, str]]


@pytest.fixture
def accounts_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Cli:
    """Run ``issuecore --db desk.db accounts ARGS`` in ``tmp_path``; return code, out, err."""
    monkeypatch.chdir(tmp_path)

    def run(*args: str, stdin: str = "") -> tuple[int, str, str]:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        code = main(["--db", str(tmp_path / "desk.db"), "accounts", *args])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def test_the_accounts_command_refuses_a_short_password(accounts_cli: Cli) -> None:
    code, _, err = accounts_cli("add", AGENT, stdin="short\n")
    assert code == 1
    assert "at least 10 characters" in err


@pytest.mark.parametrize("address", ["ben\x00@example.com", "b" * 400 + "@example.com", "ben"])
def test_the_accounts_command_refuses_what_is_no_address(accounts_cli: Cli, address: str) -> None:
    code, _, err = accounts_cli("add", address, stdin="a long password\n")
    assert code == 1
    assert "it is no e-mail address" in err
    assert "Traceback" not in err
    assert accounts_cli("list", "--json")[1] == "[]\n"


def test_the_accounts_command_adds_lists_removes_in_the_desks_store(
    tmp_path: Path, accounts_cli: Cli
) -> None:
    code, out, _ = accounts_cli("add", "Ben@Example.com", stdin="a long password\n")
    assert (code, out) == (0, f"account {AGENT} saved in {tmp_path / 'desk.db'}\n")
    assert accounts_cli("list", "--json")[:2] == (0, f'[\n  "{AGENT}"\n]\n')
    with SQLiteStore(tmp_path / "desk.db") as store:
        book = AccountBook(store, FakeClock(START))
        assert book.verify(AGENT, "a long password") == AGENT
    assert accounts_cli()[:2] == (0, f"{AGENT}\n")
    assert accounts_cli("remove", AGENT)[0] == 0
    code, _, err = accounts_cli("remove", AGENT)
    assert code == 1
    assert "no account" in err
    assert accounts_cli("list")[1].startswith("no agent accounts")


def test_the_accounts_command_imports_a_file(tmp_path: Path, accounts_cli: Cli) -> None:
    hashed = QUICK_HASHER.hash("the old password")
    path = _accounts_file(tmp_path, {AGENT: hashed})
    added = f"added {AGENT}\n1 added, 0 already stored\n"
    assert accounts_cli("import", str(path))[:2] == (0, added)
    code, out, _ = accounts_cli("import", str(path))
    assert (code, out.splitlines()[-1]) == (0, "0 added, 1 already stored")
    code, _, err = accounts_cli("import", str(tmp_path / "missing.json"))
    assert code == EXIT_USAGE
    assert "is not an accounts file" in err


# --- built on the public API ------------------------------------------------------------------


def test_the_console_imports_no_private_module_of_the_library() -> None:
    import ast

    import issuecore.web

    folder = Path(issuecore.web.__file__).parent
    imported = set()
    for source in folder.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
            elif isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
    library = {name for name in imported if name.startswith("issuecore")}
    assert {"issuecore", "issuecore.config"} <= library
    private = {
        name
        for name in library
        if not name.startswith("issuecore.web.")
        and any(part.startswith("_") for part in name.split("."))
    }
    assert private == set()


def test_the_web_table_of_the_docs_is_read_as_documented() -> None:
    docs = Path(__file__).parents[2] / "docs" / "web.md"
    block = docs.read_text().split("```toml\n[web]\n", 1)[1].split("```", 1)[0]
    settings = settings_of("[web]\n" + block)
    assert (settings.host, settings.port) == ("127.0.0.1", 8080)
    assert settings.accounts is True
    assert settings.session_lifetime == timedelta(hours=8)
    assert settings.contact_form is False
    assert (settings.contact_limit, settings.contact_window) == (5, timedelta(hours=1))


def test_the_commented_web_table_of_the_template_reads_back_when_uncommented() -> None:
    from issuecore.config import config_template

    lines = config_template(signing_key=b"k" * 32).splitlines()
    start = lines.index("# [web]")
    block = []
    for line in lines[start:]:
        if not line.startswith("# "):
            break
        block.append(line[2:])
    settings = settings_of("\n".join(block) + "\n")
    assert settings.accounts is True
    assert settings.proxy_user_header == "X-Remote-User"
    assert settings.port == 8080
