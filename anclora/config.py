"""Every setting, declared once: name, type, default, help. Defaults < TOML file < environment < CLI flags.

Plugins declare settings of their own (`anclora_settings`), set in TOML under `[plugins.<name>]` or in the
environment as `ANCLORA_PLUGINS__<NAME>__<KEY>`, validated once the plugins are loaded (`Settings.with_plugins`)
and read with `settings.plugin("<name>")`. The type converters below (`boolean`, `positive_int`, ...) are theirs
to use too.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import secrets
import tomllib
from pathlib import Path
from typing import Any, Callable, Mapping

from . import policy
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


def boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"not a boolean: {value!r}")


def integer(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("not an integer")
    if isinstance(value, str):
        value = value.split("#", 1)[0].strip()  # the guide writes `524288000  # 500MB`
    return int(value)


def positive_int(value: Any) -> int:
    number = integer(value)
    if number <= 0:
        raise ValueError("must be greater than zero")
    return number


def non_negative_int(value: Any) -> int:
    number = integer(value)
    if number < 0:
        raise ValueError("must not be negative")
    return number


def positive_float(value: Any) -> float:
    number = float(value)
    if number <= 0:
        raise ValueError("must be greater than zero")
    return number


def fraction(value: Any) -> float:
    number = float(value)
    if not 0 <= number <= 1:
        raise ValueError("must be between 0 and 1")
    return number


def str_list(value: Any) -> list[str]:
    if isinstance(value, (list, tuple)):
        return [str(item) for item in value]
    return [part.strip() for part in str(value).split(",") if part.strip()]


def text(value: Any) -> str:
    return str(value)


def json_value(value: Any) -> Any:
    """A JSON document given as text (environment, .env) or already parsed (a TOML table or array)."""
    return json.loads(value) if isinstance(value, str) else value


def _plan_limits(value: Any) -> dict[str, dict[str, int]]:
    return policy.plan_limits(json_value(value))


def _credit_packs(value: Any) -> tuple[policy.CreditPack, ...]:
    return policy.credit_packs(json_value(value))


def int_list(value: Any) -> list[int]:
    return [integer(item) for item in str_list(value)]


SETTINGS: tuple[Setting, ...] = (
    # server
    Setting("host", text, "127.0.0.1", "Address the HTTP server listens on."),
    Setting("port", positive_int, 5000, "Port the HTTP server listens on."),
    Setting("debug", boolean, False, "Show tracebacks in error responses. Never in production."),
    Setting("trusted_proxies", str_list, [],
            "Addresses of reverse proxies whose X-Real-IP/X-Forwarded-For headers are trusted. "
            "Empty: client-address headers are ignored."),
    Setting("idle_timeout", positive_float, 30.0,
            "Seconds a connection may stay silent (slow headers, a stalled body) before it is dropped."),
    Setting("shutdown_grace", positive_float, 30.0,
            "Seconds SIGTERM waits for in-flight requests before the process exits."),
    Setting("public_url", text, "", "Public base URL used in links sent to users (e-mails, checkout)."),
    # storage and uploads
    Setting("upload_folder", text, "var/uploads", "Folder where uploaded and converted files are stored.",
            env=("UPLOAD_FOLDER",)),
    Setting("max_content_length", positive_int, 524288000,
            "Largest upload in bytes for anyone (plans may allow less).", env=("MAX_CONTENT_LENGTH",)),
    Setting("storage_min_free_bytes", non_negative_int, 256 * 1024 * 1024,
            "Free bytes the upload folder keeps in reserve: below it /api/health says `degraded`, and an upload "
            "whose Content-Length would eat into it is refused at once (507). 0: no reserve."),
    Setting("anonymous_retention", positive_int, 6 * 3600,
            "Seconds an anonymous session's files are kept."),
    Setting("user_retention", positive_int, 24 * 3600, "Seconds a signed-in user's files are kept."),
    Setting("clamd_socket", text, "",
            "Path of clamd's local socket: every finished upload (plain, multipart, tus, Gotenberg forms) is "
            "scanned by ClamAV before it becomes a file; a hit is refused with 422 `infected`. Empty (and no "
            "clamd_host): uploads are not scanned."),
    Setting("clamd_host", text, "", "Host of clamd's TCP socket, instead of clamd_socket."),
    Setting("clamd_port", positive_int, 3310, "Port of clamd's TCP socket (with clamd_host)."),
    Setting("clamd_timeout", positive_float, 120.0,
            "Seconds clamd may take at each step of a scan (connecting, taking the next bytes, answering) "
            "before the upload is refused with 503."),
    Setting("clamd_fail_open", boolean, False,
            "Store uploads unscanned, with a warning in the log, while clamd is unreachable or failing, instead "
            "of refusing them with 503 `scanner_unavailable`."),
    Setting("chunk_size", positive_int, 256 * 1024, "Bytes read from storage per chunk when serving downloads."),
    # databases
    Setting("database_url", text, "sqlite:///var/anclora.db",
            "SQLAlchemy URL of the database: sqlite:///path or postgresql://user:pass@host/db.",
            env=("DATABASE_URL",), secret=True),
    Setting("redis_url", text, "", "Redis URL (redis://host:6379/0). Empty: in-process counters and queue.",
            env=("REDIS_URL",), secret=True),
    Setting("db_statement_timeout", positive_int, 30000, "PostgreSQL statement_timeout in milliseconds."),
    # secrets and integrations
    Setting("jwt_secret_key", text, "", "Secret for signing access tokens (32 bytes or more).",
            env=("JWT_SECRET_KEY",), secret=True),
    Setting("stripe_secret_key", text, "", "Stripe secret API key.", env=("STRIPE_SECRET_KEY",), secret=True),
    Setting("stripe_publishable_key", text, "", "Stripe publishable key.", env=("STRIPE_PUBLISHABLE_KEY",)),
    Setting("stripe_webhook_secret", str_list, [],
            "Stripe webhook signing secrets (comma separated, several during rotation).",
            env=("STRIPE_WEBHOOK_SECRET",), secret=True),
    Setting("stripe_api_base", text, "", "Base URL of the Stripe API (empty: Stripe's own)."),
    Setting("mail_server", text, "", "SMTP server for outgoing mail. Empty: mail is logged, not sent.",
            env=("MAIL_SERVER",)),
    Setting("mail_port", positive_int, 587, "SMTP port.", env=("MAIL_PORT",)),
    Setting("mail_use_tls", boolean, True, "Use STARTTLS with the SMTP server.", env=("MAIL_USE_TLS",)),
    Setting("mail_username", text, "", "SMTP user name.", env=("MAIL_USERNAME",)),
    Setting("mail_password", text, "", "SMTP password.", env=("MAIL_PASSWORD",), secret=True),
    Setting("mail_from", text, "Anclora <no-reply@localhost>", "Sender address of outgoing mail."),
    # accounts, limits, billing and rewards
    Setting("plan_limits", _plan_limits, "{}", policy.plans_help()),
    Setting("level_points", int_list, "0,100,500,2000,10000",
            "Points needed for each level, from level 1 up (comma separated)."),
    Setting("credit_packs", _credit_packs, "[]",
            "Credit packs sold through Stripe Checkout as a JSON array (or TOML array of tables) of {id, name, "
            "credits, amount_cents, currency}. Empty: the built-in packs."),
    Setting("login_attempts", positive_int, 5, "Failed logins per account per 15 minutes before 429."),
    Setting("login_attempts_per_address", positive_int, 30,
            "Failed logins per client address per 15 minutes before 429."),
    # plugins and conversions
    Setting("plugins_dirs", str_list, [], "Extra folders of file-based plugins (comma separated)."),
    Setting("plugins_block", str_list, [], "Plugin names not to load (e.g. billing, rewards)."),
    Setting("plugins_entrypoints", boolean, True,
            "Load plugins installed as packages with an `anclora` entry point."),
    Setting("plugins_strict", boolean, False, "Stop at startup when a third-party plugin fails to load."),
    Setting("workers", positive_int, 2, "Conversions run at once by this process."),
    Setting("queue_size", positive_int, 100, "Queued conversions before new ones get 429."),
    Setting("job_timeout", positive_float, 300.0, "Seconds one conversion may run before it is killed."),
    Setting("job_attempts", positive_int, 3, "Attempts before a conversion interrupted by restarts fails."),
    Setting("cache_scope", text, "owner",
            "Which earlier results a conversion may reuse (same input sha256, converter versions, options): the "
            "owner's own; any owner's (only the bytes are shared); or none.", choices=("owner", "global", "off")),
    Setting("cache_charge_fraction", fraction, 0.0,
            "Share of the price charged for a conversion answered from the result cache (0: free, 1: full)."),
    Setting("sync_timeout", positive_float, 120.0, "Seconds POST /api/convert waits before answering 504."),
    Setting("webhook_backoff_seconds", positive_float, 10.0,
            "Seconds before a failed webhook delivery is tried again; doubled after each further failure."),
    Setting("webhook_attempts", positive_int, 8, "Attempts at a webhook delivery before it is marked failed."),
    Setting("webhook_timeout", positive_float, 10.0, "Seconds one webhook request may take (connect to last byte)."),
    Setting("webhook_private_targets", boolean, False,
            "Allow webhooks to loopback, private, link-local and metadata addresses (private deployments, tests)."),
    Setting("webhook_poll_seconds", positive_float, 1.0,
            "Seconds between looks for due webhook deliveries (deliveries queued by this process go at once)."),
    Setting("webhook_concurrency", positive_int, 8, "Webhook requests this process sends at once."),
    Setting("webhook_log_days", positive_int, 30,
            "Days a delivered or failed webhook delivery (and its attempts) stays in the delivery log."),
    # operations
    Setting("ops_playbooks_dir", text, "", "Ansible project of the operations playbooks. Empty: the bundled one."),
    Setting("ops_inventory", text, "",
            "Ansible inventory for operations runs. Empty: the bundled localhost inventory."),
    Setting("ops_vars_files", str_list, [],
            "Site variable files for every operations run (comma separated; trusted, may hold secrets)."),
    Setting("ops_job_timeout", positive_float, 3600.0, "Seconds an operations run may take before it is stopped."),
    Setting("ops_idle_timeout", positive_float, 900.0,
            "Seconds an operations run may go without output before it is stopped."),
    # logging
    Setting("log_level", text, "INFO", "Log level.", env=("LOG_LEVEL",),
            choices=("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")),
    Setting("log_file", text, "", "File to append logs to. Empty: standard error.", env=("LOG_FILE",)),
    Setting("log_format", text, "text", "Log line format.", choices=("text", "json")),
)

BY_NAME = {setting.name: setting for setting in SETTINGS}
# Settings that moved into a plugin's own namespace; their old names are still read, below the new ones.
MOVED = {"warm_workers": ("jobs", "warm_workers"), "office_pool_size": ("office", "pool_size"),
         "office_pool_prestart": ("office", "pool_prestart"), "office_recycle_after": ("office", "recycle_after"),
         "office_max_rss_mb": ("office", "max_rss_mb"),
         # the Chromium plugin's settings, also by the flat names they were first given
         "chromium_pool_size": ("chromium", "pool_size"), "chromium_pool_prestart": ("chromium", "pool_prestart"),
         "chromium_recycle_after": ("chromium", "recycle_after"),
         "chromium_max_memory_mb": ("chromium", "max_memory_mb"),
         "chromium_url_allowlist": ("chromium", "url_allowlist")}
PLUGIN_ENV = re.compile(r"ANCLORA_PLUGINS__([A-Z0-9_]+?)__([A-Z0-9_]+)")
RawPluginValues = dict[str, dict[str, tuple[Any, str]]]  # plugin -> key -> (raw value, where it came from)


class Settings:
    """Validated settings; attribute access by name; `plugin(name)` for a plugin's own."""

    def __init__(self, values: Mapping[str, Any], sources: Mapping[str, str],
                 plugin_raw: RawPluginValues | None = None, plugin_values: Mapping[str, dict] | None = None):
        self._values = dict(values)
        self.sources = dict(sources)
        self._plugin_raw = plugin_raw or {}
        self._plugin_values = dict(plugin_values or {})

    def plugin(self, name: str) -> Mapping[str, Any]:
        """The validated settings of plugin `name` (empty when it declares none)."""
        return self._plugin_values.get(name, {})

    def with_plugins(self, declared: Mapping[str, tuple[Setting, ...]]) -> "Settings":
        """These settings with each loaded plugin's own checked against its declarations: a bad value or an
        unknown key stops the start naming `plugins.<name>.<key>`. Values for plugins not loaded are ignored."""
        values = {}
        for plugin, settings in declared.items():
            raw = self._plugin_raw.get(plugin, {})
            known = {setting.name for setting in settings}
            unknown = sorted(set(raw) - known)
            if unknown:
                raise ConfigError(f"plugin {plugin!r} has no setting {unknown[0]!r} (from {raw[unknown[0]][1]}); "
                                  f"its settings: {', '.join(sorted(known)) or 'none'}")
            values[plugin] = {setting.name: _coerce(setting, *raw.get(setting.name, (setting.default, "default")),
                                                    label=f"plugins.{plugin}.{setting.name}")
                              for setting in settings}
        return Settings(self._values, self.sources, self._plugin_raw, values)

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name) from None

    def replace(self, **changes: Any) -> "Settings":
        values = dict(self._values)
        for name, value in changes.items():
            values[name] = _coerce(BY_NAME[name], value, "override")
        return Settings(values, self.sources, self._plugin_raw, self._plugin_values)

    def as_dict(self, *, hide_secrets: bool = True) -> dict[str, Any]:
        return {
            name: ("***" if hide_secrets and BY_NAME[name].secret and value else value)
            for name, value in self._values.items()
        }


def _coerce(setting: Setting, raw: Any, source: str, label: str = "") -> Any:
    label = label or setting.name
    try:
        value = setting.type(raw)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"setting {label!r} from {source}: {raw!r} is invalid ({error})") from None
    if setting.choices:
        value = value.upper() if setting.choices[0].isupper() else value
        if value not in setting.choices:
            raise ConfigError(
                f"setting {label!r} from {source}: {raw!r} is not one of {', '.join(setting.choices)}"
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
        unknown = sorted(set(file_values) - set(BY_NAME) - set(MOVED) - {"plugins"})
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
    return Settings(values, sources, _plugin_raw(file_values, config_file, env, overrides or {}))


def _plugin_raw(file_values: Mapping[str, Any], config_file: Any, env: Mapping[str, str],
                overrides: Mapping[str, Any]) -> RawPluginValues:
    """Every plugin setting given, by plugin and key, the later source winning: old names, then the file's
    `[plugins.<name>]`, the environment's ANCLORA_PLUGINS__<NAME>__<KEY>, and the command line's."""
    raw: RawPluginValues = {}

    def put(plugin: str, key: str, value: Any, source: str) -> None:
        raw.setdefault(plugin, {})[key] = (value, source)
    for old, (plugin, key) in MOVED.items():
        if old in file_values:
            put(plugin, key, file_values[old], f"config file {config_file} ({old})")
        if "ANCLORA_" + old.upper() in env:
            put(plugin, key, env["ANCLORA_" + old.upper()], f"environment variable ANCLORA_{old.upper()}")
        if overrides.get(old) is not None:
            put(plugin, key, overrides[old], "command line")
    tables = file_values.get("plugins", {})
    if not isinstance(tables, dict) or not all(isinstance(table, dict) for table in tables.values()):
        raise ConfigError(f"config file {config_file}: [plugins.<name>] must be tables of settings")
    for plugin, table in tables.items():
        for key, value in table.items():
            put(plugin, key, value, f"config file {config_file} [plugins.{plugin}]")
    for name, value in sorted(env.items()):
        match = PLUGIN_ENV.fullmatch(name)
        if match:
            put(match.group(1).lower(), match.group(2).lower(), value, f"environment variable {name}")
    for plugin, table in (overrides.get("plugins") or {}).items():
        for key, value in table.items():
            put(plugin, key, value, "command line")
    return raw


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
