"""The Dockerfile, docker-compose.yml and README.md agree with each other and with the code: the files
the image copies exist, the commands they run are real CLI commands the README mentions, and every
MONITOR_… variable of the compose example is a real setting that reaches the loaded Settings."""

from __future__ import annotations

import json
import re
import shlex
import types
import typing
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from pydantic import BaseModel, SecretStr

from monitor.cli import cli
from monitor.config import ENV_PREFIX, Settings, load_settings

REPO = Path(__file__).resolve().parents[1]
DOCKERFILE = (REPO / "Dockerfile").read_text(encoding="utf-8")
COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text(encoding="utf-8"))
README = (REPO / "README.md").read_text(encoding="utf-8")
SERVICE = COMPOSE["services"]["monitor"]
ENVIRONMENT: dict[str, str] = {k: str(v) for k, v in SERVICE["environment"].items()}
EXPECTED_COMMANDS = {("run",), ("healthcheck",), ("--log-format", "json", "run")}


def instructions(dockerfile: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", "\n".join(line for line in dockerfile.splitlines()
                                          if not line.lstrip().startswith("#")))
    out = []
    for line in text.splitlines():
        if line.strip():
            word, _, rest = line.strip().partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def exec_or_shell(args: str) -> list[str]:
    """A CMD's words, from its JSON (exec) form or its shell form (up to a `||` or `&&`)."""
    if args.startswith("["):
        return json.loads(args)
    words = shlex.split(args)
    for stop in ("||", "&&", ";"):
        if stop in words:
            words = words[:words.index(stop)]
    return words


def monitor_args(words: list[str]) -> tuple[str, ...]:
    assert words and words[0] == "monitor", f"not a monitor command: {words}"
    return tuple(words[1:])


def container_commands() -> dict[tuple[str, ...], str]:
    """Every `monitor …` command the Dockerfile (CMD, HEALTHCHECK) and compose (`command:`) run."""
    found: dict[tuple[str, ...], str] = {}
    for word, args in instructions(DOCKERFILE):
        if word == "CMD":
            found[monitor_args(exec_or_shell(args))] = "Dockerfile CMD"
        elif word == "HEALTHCHECK":
            found[monitor_args(exec_or_shell(args.split(" CMD ", 1)[1]))] = "Dockerfile HEALTHCHECK"
    command = SERVICE["command"]
    found[monitor_args(command if isinstance(command, list) else shlex.split(command))] = "compose command"
    return found


def readme_docker_commands() -> set[tuple[str, ...]]:
    """The `monitor …` commands of the README's `docker run … lunarwatch monitor …` examples."""
    out = set()
    for line in README.splitlines():
        m = re.match(r"docker run .* lunarwatch monitor (.+?)(\s+#.*)?$", line.strip())
        if m:
            out.add(tuple(shlex.split(m.group(1))))
    return out


def test_every_file_the_dockerfile_copies_exists():
    copies = [shlex.split(args) for word, args in instructions(DOCKERFILE) if word == "COPY"]
    assert copies, "no COPY found: the parser or the Dockerfile changed"
    for words in copies:
        sources = [w for w in words[:-1] if not w.startswith("--")]
        assert sources, words
        for src in sources:
            assert (REPO / src).exists(), f"Dockerfile copies {src}, which is not in the repository"


def test_the_image_config_and_state_paths_exist_and_agree():
    env = dict(re.findall(r"(MONITOR_CONFIG)=(\S+)", DOCKERFILE))
    config = REPO / Path(env["MONITOR_CONFIG"]).relative_to("/app")
    assert config.is_file()
    volume = next(args for word, args in instructions(DOCKERFILE) if word == "VOLUME")
    assert volume == "/app/state"
    assert any(v.endswith(":/app/state") for v in SERVICE["volumes"]), "compose does not mount the state volume"
    settings = load_settings(config)  # the shipped config's state_dir, relative to /app/config, is the volume
    assert settings.monitor.state_dir == (REPO / "state").resolve()


def test_the_container_commands_are_the_expected_ones():
    assert set(container_commands()) >= EXPECTED_COMMANDS, container_commands()


@pytest.mark.parametrize("args", sorted(EXPECTED_COMMANDS | set(container_commands()) | readme_docker_commands()),
                         ids=" ".join)
def test_each_command_is_a_real_cli_command(args):
    result = CliRunner().invoke(cli, [*args, "--help"], obj={})
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Usage: ")


@pytest.mark.parametrize("args", sorted(EXPECTED_COMMANDS | set(container_commands())), ids=" ".join)
def test_the_readme_mentions_each_container_command(args):
    text = " ".join(README.split())
    assert f"monitor {' '.join(args)}" in text, f"README.md does not mention `monitor {' '.join(args)}`"


# -- environment -> settings ---------------------------------------------------------------------------


def _unwrap(annotation: Any) -> Any:
    """X | None -> X."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        assert len(args) == 1, annotation
        return args[0]
    return annotation


def setting_type(env_name: str) -> tuple[Any, bool]:
    """The type of the setting MONITOR_A__B__0__C(_FILE) names, and whether it comes from a file.

    Walks Settings' model fields: a name part selects a field, a numeric part an item of a list."""
    parts = env_name[len(ENV_PREFIX):].lower().split("__")
    from_file = parts[-1].endswith("_file")
    if from_file:
        parts[-1] = parts[-1][:-len("_file")]
    node: Any = Settings
    for part in parts:
        node = _unwrap(node)
        if typing.get_origin(node) is list:
            assert part.isdigit(), f"{env_name}: {part!r} should index a list"
            node = typing.get_args(node)[0]
            continue
        assert isinstance(node, type) and issubclass(node, BaseModel), f"{env_name}: {part!r} is below a value"
        assert part in node.model_fields, f"{env_name}: {node.__name__} has no setting {part!r}"
        node = node.model_fields[part].annotation
    return _unwrap(node), from_file


def test_compose_names_environment_variables():
    assert len(ENVIRONMENT) >= 5 and all(k.startswith(ENV_PREFIX) for k in ENVIRONMENT)


@pytest.mark.parametrize("name", sorted(ENVIRONMENT))
def test_each_compose_variable_is_a_real_setting(name):
    kind, from_file = setting_type(name)
    if from_file:  # the README promises *_FILE for secrets
        assert kind is SecretStr, f"{name} reads a file into a setting that is not a secret"
        secret = SERVICE["secrets"]
        assert ENVIRONMENT[name].startswith("/run/secrets/")
        assert ENVIRONMENT[name].removeprefix("/run/secrets/") in secret
        assert ENVIRONMENT[name].removeprefix("/run/secrets/") in COMPOSE["secrets"]


def test_setting_type_rejects_what_is_not_a_setting():
    for bad in ("MONITOR_ALERTS__EMAIL__HOSTNAME", "MONITOR_WEB__PORT__X", "MONITOR_ALERTS__WEBHOOKS__X__URL"):
        with pytest.raises(AssertionError):
            setting_type(bad)


def _get(obj: Any, parts: list[str]) -> Any:
    for part in parts:
        obj = obj[int(part)] if isinstance(obj, list) else getattr(obj, part)
    return obj


def _plain(value: Any) -> Any:
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, BaseModel):
        return {k: _plain(getattr(value, k)) for k in type(value).model_fields}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _matches(actual: Any, expected: Any) -> bool:
    """`expected` (from the environment) is found in `actual`; keys it leaves out keep their defaults."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(_matches(actual.get(k), v) for k, v in expected.items())
    if isinstance(expected, list):
        return isinstance(actual, list) and len(actual) == len(expected) and all(map(_matches, actual, expected))
    return actual == expected or str(actual) == str(expected)


def test_the_compose_environment_reaches_the_loaded_settings(tmp_path, monkeypatch):
    for key in [k for k in __import__("os").environ if k.startswith(ENV_PREFIX)]:
        monkeypatch.delenv(key)
    secrets = {}
    for name, value in ENVIRONMENT.items():
        if name.endswith("_FILE"):
            path = tmp_path / Path(value).name
            secrets[name] = f"secret-for-{path.name}"
            path.write_text(secrets[name] + "\n", encoding="utf-8")
            value = str(path)
        monkeypatch.setenv(name, value)
    settings = load_settings(REPO / "config" / "monitor.toml")
    for name, value in ENVIRONMENT.items():
        parts = name[len(ENV_PREFIX):].lower().split("__")
        if name.endswith("_FILE"):
            parts[-1] = parts[-1][:-len("_file")]
            expected: Any = secrets[name]
        else:
            try:
                expected = json.loads(value)
            except ValueError:
                expected = value
        actual = _plain(_get(settings, parts))
        assert _matches(actual, expected), f"{name}={value!r} did not arrive: settings have {actual!r}"
