"""The "no secret value in the shared settings" rule: a copy of a secret is found in every form, a word that merely
contains the same letters is not."""

from __future__ import annotations

import base64

import pytest

from support.redaction import secret_leaks

SECRETS = {"db-credentials/username": "to-do-app", "db-credentials/password": "dev-only-app-password-change-me"}


@pytest.mark.parametrize(
    "setting",
    [
        "dev-only-app-password-change-me",
        "jdbc:mariadb://db:3306/todo?user=to-do-app&password=dev-only-app-password-change-me",
        "mysql://to-do-app:dev-only-app-password-change-me@db/todo",
        "  dev-only-app-password-change-me\n",
        base64.b64encode(b"dev-only-app-password-change-me").decode(),
        '{"password": "dev-only-app-password-change-me"}',
    ],
)
def test_a_copy_of_the_password_is_found(setting: str) -> None:
    leaks = secret_leaks(SECRETS, {"db-config": {"setting": setting}})
    assert "db-credentials/password in ConfigMap db-config/setting" in leaks


def test_the_username_alone_as_a_setting_is_found() -> None:
    assert secret_leaks(SECRETS, {"db-config": {"user": "to-do-app"}}) == [
        "db-credentials/username in ConfigMap db-config/user"
    ]


@pytest.mark.parametrize("setting", ["to-do-app-db", "my-to-do-app", "to-do-app.default.svc", "to_do-app_x"])
def test_a_longer_name_holding_the_same_letters_is_not_a_leak(setting: str) -> None:
    """The walk-through names its database `to-do-app-db` and its user `to-do-app`: a name, not a copied secret."""
    assert secret_leaks(SECRETS, {"db-config": {"name": setting}}) == []


def test_short_values_are_not_checked() -> None:
    assert secret_leaks({"s/k": "abc"}, {"cm": {"k": "abc"}}) == []
