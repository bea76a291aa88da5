"""Every setting, declared once: name, type, default, help. Defaults < TOML file < environment < CLI flags."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import secrets
import tomllib
from pathlib import Path
from typing import Any, Callable, Mapping

from .errors import ConfigError


@dataclasses.dataclass(frozen=True)
class Setting:
    name: str
    type: Callable[[Any], Any]
    default: Any
    help: str
    env: tuple[str, ...] = ()
    choices: tuple[str, ...] = ()
    secret: bool = False

    @property
    def env_names(self) -> tuple[str, ...]:
        return self.env or ("ANCLORA_" + self.name.upper(),)


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"not a boolean: {value!r}")


def _int(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("not an integer")
    if isinstance(value, str):
        value = value.split("#", 1)[0].strip()  # the guide writes `524288000  # 500MB`
    return int(value)


def _positive_int(value: Any) -> int:
    number = _int(value)
    if number <= 0:
        raise ValueError("must be greater than zero")
    return number


def _positive_float(value: Any) -> float:
    number = float(value)
    if number <= 0:
        raise ValueError("must be greater than zero")
    return number


def _str_list(value: Any) -> list[str]:
    if isinstance(value, (list, tuple)):
        return [str(item) for item in value]
    return [part.strip() for part in str(value).split(",") if part.strip()]


def _str(value: Any) -> str:
    return str(value)


def _json(value: Any) -> Any:
    """A JSON document given as text (environment, .env) or already parsed (a TOML table or array)."""
    return json.loads(value) if isinstance(value, str) else value


def _int_list(value: Any) -> list[int]:
    return [_int(item) for item in _str_list(value)]


HOST_PATTERN = re.compile(r"^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:[0-9]{1,5})?$")


def _host_list(value: Any) -> list[str]:
    """Host names (`example.com`, `*.example.com`), each with an optional `:port`, lower-cased."""
    hosts = [host.lower() for host in _str_list(value)]
    for host in hosts:
        if not HOST_PATTERN.match(host):
            raise ValueError(f"not a host name or *.domain (with an optional :port): {host!r}")
    return hosts


SETTINGS: tuple[Setting, ...] = (
    # server
    Setting("host", _str, "127.0.0.1", "Address the HTTP server listens on."),
    Setting("port", _positive_int, 5000, "Port the HTTP server listens on."),
    Setting("debug", _bool, False, "Show tracebacks in error responses. Never in production."),
    Setting("trusted_proxies", _str_list, [],
            "Addresses of reverse proxies whose X-Real-IP/X-Forwarded-For headers are trusted. "
            "Empty: client-address headers are ignored."),
    Setting("idle_timeout", _positive_float, 30.0,
            "Seconds a connection may stay silent (slow headers, a stalled body) before it is dropped."),
    Setting("shutdown_grace", _positive_float, 30.0,
            "Seconds SIGTERM waits for in-flight requests before the process exits."),
    Setting("public_url", _str, "", "Public base URL used in links sent to users (e-mails, checkout)."),
    # storage and uploads
    Setting("upload_folder", _str, "var/uploads", "Folder where uploaded and converted files are stored.",
            env=("UPLOAD_FOLDER",)),
    Setting("max_content_length", _positive_int, 524288000,
            "Largest upload in bytes for anyone (plans may allow less).", env=("MAX_CONTENT_LENGTH",)),
    Setting("anonymous_retention", _positive_int, 6 * 3600,
            "Seconds an anonymous session's files are kept."),
    Setting("user_retention", _positive_int, 24 * 3600, "Seconds a signed-in user's files are kept."),
    Setting("chunk_size", _positive_int, 256 * 1024, "Bytes read from storage per chunk when serving downloads."),
    # databases
    Setting("database_url", _str, "sqlite:///var/anclora.db",
            "SQLAlchemy URL of the database: sqlite:///path or postgresql://user:pass@host/db.",
            env=("DATABASE_URL",), secret=True),
    Setting("redis_url", _str, "", "Redis URL (redis://host:6379/0). Empty: in-process counters and queue.",
            env=("REDIS_URL",), secret=True),
    Setting("db_statement_timeout", _positive_int, 30000, "PostgreSQL statement_timeout in milliseconds."),
    # secrets and integrations
    Setting("jwt_secret_key", _str, "", "Secret for signing access tokens (32 bytes or more).",
            env=("JWT_SECRET_KEY",), secret=True),
    Setting("stripe_secret_key", _str, "", "Stripe secret API key.", env=("STRIPE_SECRET_KEY",), secret=True),
    Setting("stripe_publishable_key", _str, "", "Stripe publishable key.", env=("STRIPE_PUBLISHABLE_KEY",)),
    Setting("stripe_webhook_secret", _str_list, [],
            "Stripe webhook signing secrets (comma separated, several during rotation).",
            env=("STRIPE_WEBHOOK_SECRET",), secret=True),
    Setting("stripe_api_base", _str, "", "Base URL of the Stripe API (empty: Stripe's own)."),
    Setting("mail_server", _str, "", "SMTP server for outgoing mail. Empty: mail is logged, not sent.",
            env=("MAIL_SERVER",)),
    Setting("mail_port", _positive_int, 587, "SMTP port.", env=("MAIL_PORT",)),
    Setting("mail_use_tls", _bool, True, "Use STARTTLS with the SMTP server.", env=("MAIL_USE_TLS",)),
    Setting("mail_username", _str, "", "SMTP user name.", env=("MAIL_USERNAME",)),
    Setting("mail_password", _str, "", "SMTP password.", env=("MAIL_PASSWORD",), secret=True),
    Setting("mail_from", _str, "Anclora <no-reply@localhost>", "Sender address of outgoing mail."),
    # accounts, limits, billing and rewards
    Setting("plan_limits", _json, "{}",
            "Limits per plan and level as a JSON object (or TOML table) merged over the built-in table: keys "
            "anonymous, free, level_2.., paid; values max_upload_bytes, conversions_per_day, "
            "free_conversions_per_day, concurrent_jobs, uploads_per_minute."),
    Setting("level_points", _int_list, "0,100,500,2000,10000",
            "Points needed for each level, from level 1 up (comma separated)."),
    Setting("credit_packs", _json, "[]",
            "Credit packs sold through Stripe Checkout as a JSON array of {id, name, credits, amount_cents, "
            "currency}. Empty: the built-in packs."),
    Setting("login_attempts", _positive_int, 5, "Failed logins per account per 15 minutes before 429."),
    Setting("login_attempts_per_address", _positive_int, 30,
            "Failed logins per client address per 15 minutes before 429."),
    # plugins and conversions
    Setting("plugins_dirs", _str_list, [], "Extra folders of file-based plugins (comma separated)."),
    Setting("plugins_block", _str_list, [], "Plugin names not to load (e.g. billing, rewards)."),
    Setting("plugins_entrypoints", _bool, True,
            "Load plugins installed as packages with an `anclora` entry point."),
    Setting("plugins_strict", _bool, False, "Stop at startup when a third-party plugin fails to load."),
    Setting("workers", _positive_int, 2, "Conversions run at once by this process."),
    Setting("queue_size", _positive_int, 100, "Queued conversions before new ones get 429."),
    Setting("job_timeout", _positive_float, 300.0, "Seconds one conversion may run before it is killed."),
    Setting("job_attempts", _positive_int, 3, "Attempts before a conversion interrupted by restarts fails."),
    Setting("sync_timeout", _positive_float, 120.0, "Seconds POST /api/convert waits before answering 504."),
    Setting("warm_workers", _bool, True,
            "Fork Python workers (images, data, pdf) from a warm process per worker script instead of starting "
            "each afresh: about 0.1 s less per conversion; children share the warm process's memory layout."),
    Setting("office_pool_size", _positive_int, 2, "LibreOffice instances kept running for office conversions."),
    Setting("office_pool_prestart", _bool, False,
            "Start the LibreOffice instances with the server (else at the first office conversion)."),
    Setting("office_recycle_after", _positive_int, 200,
            "Conversions after which a LibreOffice instance is replaced by a fresh one (memory creep)."),
    Setting("office_max_rss_mb", _positive_int, 1024,
            "Memory (RSS of all its processes, MiB) above which a LibreOffice instance is replaced."),
    Setting("chromium_pool_size", _positive_int, 2, "Headless Chromium browsers kept running for HTML and Markdown."),
    Setting("chromium_pool_prestart", _bool, False,
            "Start the Chromium browsers with the server (else at the first HTML conversion)."),
    Setting("chromium_recycle_after", _positive_int, 100,
            "Pages after which a Chromium browser is replaced by a fresh one (memory creep)."),
    Setting("chromium_max_memory_mb", _positive_int, 1024,
            "Memory (proportional set size of all its processes, MiB) above which a browser is replaced."),
    Setting("chromium_url_allowlist", _host_list, [],
            "Hosts whose pages may be converted from a URL (url -> pdf), comma separated: `example.com`, "
            "`*.example.com`, with an optional `:port` (else only 80 and 443). Empty: URL conversion is off. "
            "Loopback, private, link-local and metadata addresses are refused whatever this says."),
    # operations
    Setting("ops_playbooks_dir", _str, "", "Ansible project of the operations playbooks. Empty: the bundled one."),
    Setting("ops_inventory", _str, "",
            "Ansible inventory for operations runs. Empty: the bundled localhost inventory."),
    Setting("ops_vars_files", _str_list, [],
            "Site variable files for every operations run (comma separated; trusted, may hold secrets)."),
    Setting("ops_job_timeout", _positive_float, 3600.0, "Seconds an operations run may take before it is stopped."),
    Setting("ops_idle_timeout", _positive_float, 900.0,
            "Seconds an operations run may go without output before it is stopped."),
    # logging
    Setting("log_level", _str, "INFO", "Log level.", env=("LOG_LEVEL",),
            choices=("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")),
    Setting("log_file", _str, "", "File to append logs to. Empty: standard error.", env=("LOG_FILE",)),
    Setting("log_format", _str, "text", "Log line format.", choices=("text", "json")),
)

BY_NAME = {setting.name: setting for setting in SETTINGS}


class Settings:
    """Validated settings; attribute access by name."""

    def __init__(self, values: Mapping[str, Any], sources: Mapping[str, str]):
        self._values = dict(values)
        self.sources = dict(sources)

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name) from None

    def replace(self, **changes: Any) -> "Settings":
        values = dict(self._values)
        for name, value in changes.items():
            values[name] = _coerce(BY_NAME[name], value, "override")
        return Settings(values, self.sources)

    def as_dict(self, *, hide_secrets: bool = True) -> dict[str, Any]:
        return {
            name: ("***" if hide_secrets and BY_NAME[name].secret and value else value)
            for name, value in self._values.items()
        }


def _coerce(setting: Setting, raw: Any, source: str) -> Any:
    try:
        value = setting.type(raw)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"setting {setting.name!r} from {source}: {raw!r} is invalid ({error})") from None
    if setting.choices:
        value = value.upper() if setting.choices[0].isupper() else value
        if value not in setting.choices:
            raise ConfigError(
                f"setting {setting.name!r} from {source}: {raw!r} is not one of {', '.join(setting.choices)}"
            )
    return value


def read_dotenv(path: Path) -> dict[str, str]:
    """KEY=VALUE lines; quotes stripped; comments and blank lines skipped."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        key = key.strip().removeprefix("export ").strip()
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key] = value
    return values


def load(
    config_file: str | os.PathLike | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    dotenv: str | os.PathLike | None = ".env",
) -> Settings:
    """Build the settings from every source; a bad value raises ConfigError naming the setting."""
    env = dict(read_dotenv(Path(dotenv))) if dotenv else {}
    env.update(os.environ if environ is None else environ)
    config_file = config_file or env.get("ANCLORA_CONFIG")
    file_values: dict[str, Any] = {}
    if config_file:
        try:
            with open(config_file, "rb") as handle:
                file_values = tomllib.load(handle)
        except (OSError, tomllib.TOMLDecodeError) as error:
            raise ConfigError(f"config file {config_file}: {error}") from None
        unknown = sorted(set(file_values) - set(BY_NAME))
        if unknown:
            raise ConfigError(f"config file {config_file}: unknown setting(s) {', '.join(unknown)}")

    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for setting in SETTINGS:
        raw, source = setting.default, "default"
        if setting.name in file_values:
            raw, source = file_values[setting.name], f"config file {config_file}"
        for env_name in setting.env_names:
            if env_name in env:
                raw, source = env[env_name], f"environment variable {env_name}"
                break
        if overrides and overrides.get(setting.name) is not None:
            raw, source = overrides[setting.name], "command line"
        values[setting.name] = _coerce(setting, raw, source)
        sources[setting.name] = source
    return Settings(values, sources)


def with_generated_secret(settings: Settings) -> Settings:
    """An unset JWT secret is generated once and kept beside the data (`<upload folder>/../.jwt_secret`, mode
    0600), so the embedded defaults run as they are. A secret that is set is used as given (and a short one still
    refuses to start); servers sharing users must share one JWT_SECRET_KEY."""
    if settings.jwt_secret_key:
        return settings
    path = Path(settings.upload_folder).resolve().parent / ".jwt_secret"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    return settings.replace(jwt_secret_key=path.read_text().strip())


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def sample_toml() -> str:
    """A commented TOML file with every setting at its default."""
    lines = ["# Anclora configuration. Every setting at its default; environment variables override this file.", ""]
    for setting in SETTINGS:
        lines.append(f"# {setting.help}")
        lines.append(f"# Environment: {', '.join(setting.env_names)}")
        if setting.choices:
            lines.append(f"# One of: {', '.join(setting.choices)}")
        lines.append(f"# {setting.name} = {_toml_value(setting.default)}")
        lines.append("")
    return "\n".join(lines)


def sample_dotenv() -> str:
    """A commented .env file with every setting at its default."""
    lines = ["# Anclora environment. Copy to .env and edit; real environment variables win.", ""]
    for setting in SETTINGS:
        default = setting.default
        if isinstance(default, list):
            default = ",".join(default)
        elif isinstance(default, bool):
            default = "true" if default else "false"
        lines.append(f"# {setting.help}")
        lines.append(f"# {setting.env_names[0]}={default}")
        lines.append("")
    return "\n".join(lines)
