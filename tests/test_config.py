"""Settings: declared once, file < environment < flags, bad values named, samples generated."""

import subprocess
import sys
import tomllib

import pytest

from anclora import config, config_samples
from anclora.errors import ConfigError
from anclora.plugins import bundled_settings


def test_defaults_are_the_embedded_ones():
    settings = config.load(environ={}, dotenv=None)
    assert settings.host == "127.0.0.1" and settings.port == 5000
    assert settings.database_url.startswith("sqlite:")
    assert settings.redis_url == ""
    assert settings.max_content_length == 524288000


def test_precedence_file_then_environment_then_flags(tmp_path):
    toml = tmp_path / "anclora.toml"
    toml.write_text('port = 6000\nlog_level = "DEBUG"\nupload_folder = "/srv/files"\n')
    settings = config.load(toml, environ={"ANCLORA_PORT": "7000", "UPLOAD_FOLDER": "/env/files"}, dotenv=None,
                           overrides={"port": 8000})
    assert settings.port == 8000 and settings.sources["port"] == "command line"
    assert settings.upload_folder == "/env/files"
    assert settings.sources["upload_folder"] == "environment variable UPLOAD_FOLDER"
    assert settings.log_level == "DEBUG"


def test_guide_variable_names_are_accepted(tmp_path):
    environ = {
        "DATABASE_URL": "postgresql://anclora_user:pw@localhost/anclora_db",
        "REDIS_URL": "redis://localhost:6379/0",
        "MAX_CONTENT_LENGTH": "524288000  # 500MB",
        "MAIL_USE_TLS": "True",
        "STRIPE_WEBHOOK_SECRET": "whsec_a,whsec_b",
        "LOG_LEVEL": "info",
    }
    settings = config.load(environ=environ, dotenv=None)
    assert settings.database_url.startswith("postgresql://")
    assert settings.max_content_length == 524288000
    assert settings.mail_use_tls is True
    assert settings.stripe_webhook_secret == ["whsec_a", "whsec_b"]
    assert settings.log_level == "INFO"


def test_dotenv_is_read_and_real_environment_wins(tmp_path):
    dotenv = tmp_path / ".env"
    dotenv.write_text('# comment\nANCLORA_PORT=5100\nexport LOG_FILE="/var/log/anclora/app.log"\n')
    settings = config.load(environ={"ANCLORA_PORT": "5200"}, dotenv=dotenv)
    assert settings.port == 5200
    assert settings.log_file == "/var/log/anclora/app.log"


@pytest.mark.parametrize("environ, named", [
    ({"ANCLORA_PORT": "eighty"}, "'port'"),
    ({"MAX_CONTENT_LENGTH": "-1"}, "'max_content_length'"),
    ({"LOG_LEVEL": "LOUD"}, "'log_level'"),
    ({"ANCLORA_DEBUG": "maybe"}, "'debug'"),
])
def test_bad_value_names_the_setting(environ, named):
    with pytest.raises(ConfigError) as error:
        config.load(environ=environ, dotenv=None)
    assert named in str(error.value)
    assert list(environ)[0] in str(error.value)


def test_unknown_key_in_file_is_refused(tmp_path):
    toml = tmp_path / "anclora.toml"
    toml.write_text("prot = 5000\n")
    with pytest.raises(ConfigError, match="prot"):
        config.load(toml, environ={}, dotenv=None)


def test_bad_value_stops_the_server_with_a_message(tmp_path):
    result = subprocess.run([sys.executable, "-m", "anclora", "serve"], capture_output=True, text=True,
                            env={"ANCLORA_PORT": "eighty", "PATH": "/usr/bin:/bin"}, cwd=tmp_path, timeout=60)
    assert result.returncode == 2
    assert "configuration error" in result.stderr and "'port'" in result.stderr
    assert "Traceback" not in result.stderr


def test_sample_files_list_every_setting_and_parse(tmp_path):
    declared = bundled_settings()
    sample = config_samples.sample_toml(declared)
    uncommented = "\n".join(line[2:] for line in sample.splitlines()
                            if line.startswith("# ") and (" = " in line or line.startswith("# [plugins.")))
    parsed = tomllib.loads(uncommented)
    assert set(parsed) == {setting.name for setting in config.SETTINGS} | {"plugins"}
    assert parsed["plugins"]["office"]["pool_size"] == 2 and parsed["plugins"]["jobs"]["warm_workers"] is True
    toml = tmp_path / "full.toml"
    toml.write_text(uncommented)
    settings = config.load(toml, environ={}, dotenv=None).with_plugins(declared)
    assert settings.port == 5000 and settings.plugin("office")["max_rss_mb"] == 1024
    env_sample = config_samples.sample_dotenv(declared)
    for setting in config.SETTINGS:
        assert f"# {setting.env_names[0]}=" in env_sample
    assert "# ANCLORA_PLUGINS__OFFICE__POOL_SIZE=2" in env_sample


def test_committed_samples_match_the_declarations():
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    declared = bundled_settings()
    assert (root / "config/anclora.example.toml").read_text() == config_samples.sample_toml(declared) + "\n"
    assert (root / ".env.example").read_text() == config_samples.sample_dotenv(declared) + "\n"


def test_an_unset_jwt_secret_is_generated_once_and_kept_private(tmp_path):
    import stat

    settings = config.load(environ={"UPLOAD_FOLDER": str(tmp_path / "var/uploads")}, dotenv=None)
    first = config.with_generated_secret(settings)
    again = config.with_generated_secret(settings)
    assert len(first.jwt_secret_key) >= 32 and first.jwt_secret_key == again.jwt_secret_key
    kept = tmp_path / "var/.jwt_secret"
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    given = config.load(environ={"UPLOAD_FOLDER": str(tmp_path / "var/uploads"), "JWT_SECRET_KEY": "s" * 40},
                        dotenv=None)
    assert config.with_generated_secret(given).jwt_secret_key == "s" * 40


def test_the_embedded_defaults_serve_without_any_setting(tmp_path):
    from server_process import ServerProcess

    server = ServerProcess(tmp_path, f"sqlite:///{tmp_path}/anclora.db", JWT_SECRET_KEY="")
    try:
        server.wait_ready()
    finally:
        server.stop()
    assert (tmp_path / ".jwt_secret").is_file()
