"""Policy is configuration, validated: a misspelt plan limit, an unknown plan, a wrong type or a malformed credit
pack stops the start naming it; plugin settings live in their own namespace; the docs tables are generated."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from anclora import config, policy
from anclora.errors import ConfigError
from anclora.plugins import bundled_settings

ROOT = Path(__file__).resolve().parent.parent

BAD_POLICIES = [
    ("ANCLORA_PLAN_LIMITS", {"free": {"max_upload_byte": 1}}, "'max_upload_byte'"),
    ("ANCLORA_PLAN_LIMITS", {"premium": {"max_upload_bytes": 1}}, "'premium'"),
    ("ANCLORA_PLAN_LIMITS", {"free": {"concurrent_jobs": "2"}}, "'concurrent_jobs'"),
    ("ANCLORA_PLAN_LIMITS", {"anonymous": {"uploads_per_minute": True}}, "'uploads_per_minute'"),
    ("ANCLORA_PLAN_LIMITS", {"paid": 5}, "'paid'"),
    ("ANCLORA_CREDIT_PACKS", [{"id": "big", "name": "Big", "credits": 10}], "'amount_cents'"),
    ("ANCLORA_CREDIT_PACKS", [{"id": "big", "name": "Big", "credits": "10", "amount_cents": 100}], "'credits'"),
    ("ANCLORA_CREDIT_PACKS", [{"id": "big", "name": "Big", "credits": 10, "amount_cents": 100, "price": 1}],
     "'price'"),
    ("ANCLORA_CREDIT_PACKS", [{"id": "a", "name": "A", "credits": 1, "amount_cents": 1}] * 2, "unique"),
]


@pytest.mark.parametrize("variable, value, named", BAD_POLICIES, ids=[case[2] for case in BAD_POLICIES])
def test_a_bad_policy_is_refused_naming_it(variable, value, named):
    with pytest.raises(ConfigError) as error:
        config.load(environ={variable: json.dumps(value)}, dotenv=None)
    assert named in str(error.value) and variable in str(error.value)


@pytest.mark.parametrize("variable, value, named", [BAD_POLICIES[0], BAD_POLICIES[1], BAD_POLICIES[2],
                                                    BAD_POLICIES[5]], ids=["key", "plan", "type", "pack"])
def test_the_server_does_not_start_on_a_bad_policy(tmp_path, variable, value, named):
    result = subprocess.run([sys.executable, "-m", "anclora", "serve", "--migrate"], capture_output=True, text=True,
                            env={"PATH": "/usr/bin:/bin", variable: json.dumps(value), "ANCLORA_PORT": "1"},
                            cwd=tmp_path, timeout=60)
    assert result.returncode != 0
    assert named in result.stderr and "Traceback" not in result.stderr
    assert "listening on" not in result.stderr


def test_a_good_policy_is_merged_over_the_built_in_table():
    settings = config.load(environ={"ANCLORA_PLAN_LIMITS": '{"free": {"concurrent_jobs": 7}}',
                                    "ANCLORA_CREDIT_PACKS": '[{"id": "one", "name": "One", "credits": 1, '
                                                            '"amount_cents": 99, "currency": "usd"}]'}, dotenv=None)
    table = policy.merged_plans(settings.plan_limits)
    assert table["free"]["concurrent_jobs"] == 7 and table["free"]["max_upload_bytes"] == 100 * 2**20
    assert settings.credit_packs == (policy.CreditPack("one", "One", 1, 99, "usd"),)
    assert config.load(environ={}, dotenv=None).credit_packs == policy.DEFAULT_PACKS


def test_the_docs_tables_are_generated_from_the_declarations():
    text = (ROOT / "docs/accounts.md").read_text()
    assert policy.plans_table() in text
    assert policy.packs_table() in text
    assert config.BY_NAME["plan_limits"].help == policy.plans_help()


def test_plugin_settings_have_their_own_namespace_and_old_names_still_work(tmp_path):
    declared = bundled_settings()
    toml = tmp_path / "anclora.toml"
    toml.write_text("office_pool_size = 5\n[plugins.office]\nrecycle_after = 7\n")
    settings = config.load(toml, environ={"ANCLORA_PLUGINS__OFFICE__MAX_RSS_MB": "300",
                                          "ANCLORA_WARM_WORKERS": "false"}, dotenv=None).with_plugins(declared)
    assert settings.plugin("office") == {"pool_size": 5, "pool_prestart": False, "recycle_after": 7,
                                         "max_rss_mb": 300}
    assert settings.plugin("jobs") == {"warm_workers": False}


@pytest.mark.parametrize("environ, named", [
    ({"ANCLORA_PLUGINS__OFFICE__POOL_SIZE": "zero"}, "'plugins.office.pool_size'"),
    ({"ANCLORA_PLUGINS__OFFICE__POOL_SIZ": "2"}, "'pool_siz'"),
    ({"ANCLORA_OFFICE_POOL_SIZE": "-1"}, "ANCLORA_OFFICE_POOL_SIZE"),
])
def test_a_bad_plugin_setting_names_it(environ, named):
    with pytest.raises(ConfigError) as error:
        config.load(environ=environ, dotenv=None).with_plugins(bundled_settings())
    assert named in str(error.value)
