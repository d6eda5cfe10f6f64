"""The one Settings class: embedded defaults < TOML file < environment (MONITOR_<SECTION>__<KEY>).

Relative paths in a config file are relative to that file's folder. Secrets are SecretStr and may
also come from a file named by MONITOR_<SECTION>__<KEY>_FILE (Docker secrets).
"""

from __future__ import annotations

import os
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from monitor import __version__
from monitor.errors import ConfigError

ENV_PREFIX = "MONITOR_"
DEFAULT_CONFIG = Path("config/monitor.toml")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MonitorSection(_Section):
    state_dir: Path = Path("state")
    seeds_dir: Path = Path("seeds")
    interval_minutes: int = Field(30, ge=1, le=10080)
    log_format: Literal["text", "json"] = "text"
    lock_wait_s: float = Field(10.0, ge=0)


class FetchSection(_Section):
    user_agent: str = f"lunarwatch/{__version__} (+https://github.com/lunarwatch/lunarwatch)"
    connect_timeout_s: float = Field(10.0, gt=0)
    read_timeout_s: float = Field(20.0, gt=0)
    total_timeout_s: float = Field(60.0, gt=0)
    max_body_mb: float = Field(15.0, gt=0)
    max_redirects: int = Field(5, ge=0, le=20)
    concurrency: int = Field(8, ge=1, le=64)
    per_host_concurrency: int = Field(2, ge=1, le=16)
    allow_private_networks: bool = False
    max_consecutive_failures: int = Field(10, ge=1)
    backoff_max_minutes: int = Field(24 * 60, ge=1)
    max_entries_per_feed: int = Field(50, ge=1)
    # An article page failing transiently (no feed text to fall back on) is retried on later cycles,
    # this many times in all, then given up so that a dead link is not fetched forever.
    max_article_attempts: int = Field(5, ge=1)


class SourceConfig(_Section):
    name: str = Field(min_length=1)
    kind: Literal["feed", "page"]
    url: str
    enabled: bool = True

    @field_validator("url")
    @classmethod
    def _http_url(cls, v: str) -> str:
        if not v.lower().startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return v


class DeliveryMode(_Section):
    mode: Literal["instant", "digest"] = "instant"
    digest_schedule: Literal["daily", "weekly"] = "daily"
    digest_time: str = Field("08:00", pattern=r"^\d{2}:\d{2}$")
    digest_weekday: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] = "mon"


class WebhookConfig(DeliveryMode):
    url: str
    secret: SecretStr = SecretStr("")
    timeout_s: float = Field(10.0, gt=0)


class EmailConfig(DeliveryMode):
    host: str
    port: int = Field(587, ge=1, le=65535)
    starttls: bool = True
    ssl: bool = False
    username: str = ""
    password: SecretStr = SecretStr("")
    sender: str
    recipients: list[str] = Field(min_length=1)
    timeout_s: float = Field(20.0, gt=0)


class AlertsSection(_Section):
    webhooks: list[WebhookConfig] = []
    email: EmailConfig | None = None
    apprise: list[SecretStr] = []
    apprise_mode: DeliveryMode = DeliveryMode()
    max_attempts: int = Field(20, ge=1)
    retry_base_s: float = Field(60.0, ge=0)
    retry_max_s: float = Field(6 * 3600.0, ge=1)
    atom_feed_entries: int = Field(100, ge=1)


class TopicConfig(_Section):
    """A programme the monitor follows. Vocabulary only; the engine has no built-in topic."""

    name: str
    label: str = ""
    aliases: list[str] = []  # unambiguous names: one mention makes an article relevant
    ambiguous: list[str] = []  # names that count only with a context word nearby
    context: list[str] = []  # words that disambiguate the ambiguous names
    entities: list[str] = []  # key organisations and programmes (support, not proof)
    negative: list[str] = []  # phrases whose match is never a mention (API gateway, ...)
    equivalents: list[list[str]] = []  # names of one thing: first is canonical


class JudgeSection(_Section):
    """Thresholds of the judgement engine (documented in docs/judgement.md)."""

    min_relevance: float = Field(2.0, ge=0)
    duplicate_jaccard: float = Field(0.5, gt=0, le=1)
    candidates: int = Field(8, ge=1, le=100)
    known_similarity: float = Field(0.55, gt=0, le=1)
    frame_similarity: float = Field(0.30, gt=0, le=1)
    contradiction_similarity: float = Field(0.40, gt=0, le=1)
    update_after_days: int = Field(120, ge=0)
    min_new_units: int = Field(1, ge=1)


class WebSection(_Section):
    port: int | None = Field(None, ge=1, le=65535)
    host: str = "127.0.0.1"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid")

    monitor: MonitorSection = MonitorSection()
    fetch: FetchSection = FetchSection()
    sources: list[SourceConfig] = []
    alerts: AlertsSection = AlertsSection()
    topics: list[TopicConfig] = []
    judge: JudgeSection = JudgeSection()
    web: WebSection = WebSection()

    config_path: Path | None = Field(None, exclude=True)

    @field_validator("sources")
    @classmethod
    def _unique_names(cls, v: list[SourceConfig]) -> list[SourceConfig]:
        names = [s.name for s in v]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"source names must be unique, repeated: {', '.join(dupes)}")
        return v



class _DictSource(PydanticBaseSettingsSource):
    """The merged embedded defaults and TOML file, below the environment in priority."""

    def __init__(self, settings_cls: type[BaseSettings], data: dict[str, Any]):
        super().__init__(settings_cls)
        self._data = data

    def get_field_value(self, field, field_name):  # pragma: no cover - required by the interface
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        return self._data


class _EnvSource(EnvSettingsSource):
    """MONITOR_<SECTION>__<KEY> variables; the *_FILE ones name secret files and are read elsewhere."""

    def _load_env_vars(self):
        return {k: v for k, v in super()._load_env_vars().items() if not k.lower().endswith("_file")}


def apply_secret_files(data: dict[str, Any], environ: dict[str, str]) -> dict[str, Any]:
    """MONITOR_ALERTS__EMAIL__PASSWORD_FILE=/run/secrets/x sets alerts.email.password from that file;
    numbers address list items (MONITOR_ALERTS__WEBHOOKS__0__SECRET_FILE)."""
    for name, path in sorted(environ.items()):
        if not (name.startswith(ENV_PREFIX) and name.endswith("_FILE")) or name == "MONITOR_CONFIG_FILE":
            continue
        keys = name[len(ENV_PREFIX):-len("_FILE")].lower().split("__")
        try:
            value = Path(path).read_text(encoding="utf-8").strip()
        except OSError as e:
            raise ConfigError(f"{name}: cannot read secret file {path}: {e.strerror}") from e
        _set(data, keys, value, name)
    return data


def _set(node: Any, keys: list[str], value: str, name: str) -> None:
    for i, k in enumerate(keys):
        last = i == len(keys) - 1
        if isinstance(node, list):
            if not k.isdigit() or int(k) >= len(node):
                raise ConfigError(f"{name}: no list item {k} to set (the config has {len(node)})")
            if last:
                node[int(k)] = value
                return
            node = node[int(k)]
        elif last:
            node[k] = value
        else:
            node = node.setdefault(k, {})


def embedded_defaults() -> dict[str, Any]:
    """The defaults shipped inside the package (topics and judgement thresholds)."""
    text = resources.files("monitor").joinpath("defaults.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def resolve_config_path(cli_path: str | None) -> Path | None:
    """--config, then $MONITOR_CONFIG, then config/monitor.toml if it exists, else none (defaults)."""
    if cli_path:
        return Path(cli_path)
    if os.environ.get("MONITOR_CONFIG"):
        return Path(os.environ["MONITOR_CONFIG"])
    return DEFAULT_CONFIG if DEFAULT_CONFIG.exists() else None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise ConfigError(f"config file not found: {path}") from e
    except OSError as e:
        raise ConfigError(f"cannot read config file {path}: {e.strerror}") from e
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"config file {path} is not valid TOML: {e}") from e


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Tables merge key by key; lists and values replace."""
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _describe(err: ValidationError) -> str:
    first = err.errors()[0]
    key = ".".join(str(p) for p in first["loc"]) or "(top level)"
    got = first.get("input")
    hidden = first["type"] == "extra_forbidden" or any(
        w in str(p).lower() for p in first["loc"] for w in ("password", "secret", "apprise", "token"))
    got_txt = "" if hidden or isinstance(got, dict | list) or got is None else f" (got {got!r})"
    more = len(err.errors()) - 1
    tail = f"; and {more} more problem(s)" if more else ""
    env_key = ENV_PREFIX + "__".join(str(p).upper() for p in first["loc"] if not isinstance(p, int))
    return f"invalid setting {key}: {first['msg']}{got_txt} [file key {key} or env {env_key}]{tail}"


def load_settings(path: Path | None) -> Settings:
    """Build Settings from defaults, the TOML file and the environment; raise ConfigError on any problem."""
    data = embedded_defaults()
    base = Path.cwd()
    if path is not None:
        data = _merge(data, _read_toml(path))
        base = path.resolve().parent
    # The environment is merged here, before the secret files, rather than as a pydantic-settings source
    # above them: a list given in the environment (MONITOR_ALERTS__WEBHOOKS='[…]') would otherwise replace,
    # whole, the list item that MONITOR_ALERTS__WEBHOOKS__0__SECRET_FILE filled, and the secret be lost.
    try:
        data = _merge(data, _EnvSource(Settings)())
    except SettingsError as e:
        raise ConfigError(f"invalid environment setting: {e}") from None
    data = apply_secret_files(data, dict(os.environ))

    class _Loaded(Settings):
        @classmethod
        def settings_customise_sources(cls, settings_cls, init_settings, env_settings, dotenv_settings,
                                       file_secret_settings):
            return (init_settings, _DictSource(settings_cls, data))

    try:
        settings = _Loaded()
    except ValidationError as e:
        raise ConfigError(_describe(e)) from None
    settings.config_path = path
    for attr in ("state_dir", "seeds_dir"):
        p = getattr(settings.monitor, attr)
        if not p.is_absolute():
            setattr(settings.monitor, attr, (base / p).resolve())
    return settings


def redacted(settings: Settings) -> dict[str, Any]:
    """The effective config as plain data with every secret shown as '**********' when set."""
    return settings.model_dump(mode="json", exclude={"config_path"})
