"""Where the plan store lives, from the environment (``SIMTARU_`` prefix)."""

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class StoreSettings(BaseSettings):
    """``SIMTARU_DATABASE_URL`` picks PostGIS (``postgresql+psycopg://...``); without it the
    embedded GeoPackage store at ``SIMTARU_DATA_DIR/simtaru.gpkg`` is used."""

    model_config = SettingsConfigDict(env_prefix="SIMTARU_")

    database_url: str | None = None
    data_dir: Path = Path("var")

    @property
    def store_url(self) -> str:
        return self.database_url or str(self.data_dir / "simtaru.gpkg")
