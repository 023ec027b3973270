"""One settings root (pydantic-settings): `RITM_*` environment variables and `.env`."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict


class SmtpSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = Field(default=1025, ge=1, le=65535)
    user: str | None = None
    password: SecretStr | None = None
    tls: Literal["none", "starttls", "tls"] = "none"
    sender: str = "Ritm <noreply@school.example>"
    pool_size: int = Field(default=4, ge=1, le=64)
    rate_per_s: float = Field(default=50.0, gt=0)
    timeout_s: float = Field(default=30.0, gt=0)


class TelegramSettings(BaseModel):
    rate_per_s: float = Field(default=25.0, gt=0)
    per_chat_per_s: float = Field(default=1.0, gt=0)
    per_group_per_min: float = Field(default=20.0, gt=0)


class Settings(BaseSettings):
    """Everything `ritm` reads from its environment; `RITM_SMTP__HOST` sets `smtp.host`."""

    model_config = SettingsConfigDict(
        env_prefix="RITM_", env_file=".env", env_nested_delimiter="__", extra="ignore"
    )

    db: Path = Path("ritm.db")
    policy: Path | None = None
    templates: Path | None = None
    bot_token: SecretStr | None = None
    telegram_api_url: str | None = None
    public_url: str = "http://127.0.0.1:8080"
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8080, ge=0, le=65535)
    secret: SecretStr = SecretStr("change-me-in-production")
    school_name: str = "Онлайн-школа"
    smtp: SmtpSettings = SmtpSettings()
    telegram: TelegramSettings = TelegramSettings()


class SettingsError(ValueError):
    """A setting is missing or invalid; the message names the environment variable."""


def load_settings(**overrides: object) -> Settings:
    """Read the settings; a bad value becomes one sentence naming its `RITM_*` variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        var = "RITM_" + "__".join(str(p).upper() for p in first["loc"])
        raise SettingsError(f"{var}: {first['msg']}") from exc
