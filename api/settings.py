"""The service's settings, one class per concern, from the environment (``SIMTARU_`` prefix).

Nothing here is read at import: ``Settings.from_env()`` is called by the server's factory, and
tests build ``Settings`` with their own values.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from layers.settings import StoreSettings


class ApiSettings(BaseSettings):
    """``SIMTARU_API_*``: where the server listens and how it behaves."""

    model_config = SettingsConfigDict(env_prefix="SIMTARU_API_")

    host: str = "127.0.0.1"
    port: int = 8000
    #: Worker processes of the server, each with its own engines (one a core is the rule).
    workers: int = Field(default=2, ge=1)
    #: Origins allowed to call the API from a browser (CORS); empty allows none.
    cors_origins: list[str] = Field(default_factory=list)
    #: Seconds between two looks at the store for activated versions and revoked keys.
    refresh_seconds: float = Field(default=5.0, gt=0)
    #: Plan, layer and tile reads without an API key (QGIS and the map on an intranet).
    open_reads: bool = True
    #: Migrate the store's schema when a worker starts (the serve command does it once before).
    migrate: bool = True


class LimitSettings(BaseSettings):
    """``SIMTARU_LIMIT_*``: what a request may carry before it is refused."""

    model_config = SettingsConfigDict(env_prefix="SIMTARU_LIMIT_")

    #: Largest JSON body (bytes); larger ones are refused with 413 before they are read.
    max_body_bytes: int = Field(default=8 * 2**20, gt=0)
    #: Largest plan upload (bytes), multipart with its rule tables.
    max_upload_bytes: int = Field(default=512 * 2**20, gt=0)
    #: Vertices and parts of one parcel.
    max_vertices: int = Field(default=10_000, gt=0)
    max_parts: int = Field(default=100, gt=0)
    #: Applications in one batch request.
    max_batch: int = Field(default=10_000, gt=0)
    #: Features in one page of a layer.
    max_page: int = Field(default=10_000, gt=0)


class WebSettings(BaseSettings):
    """``SIMTARU_WEB_*``: the planners' map and the decision documents. The map needs nothing
    from outside the service; a base map is optional (an intranet tile server, say)."""

    model_config = SettingsConfigDict(env_prefix="SIMTARU_WEB_")

    #: Raster tiles drawn under the plan, an XYZ URL template (``https://tiles.example/{z}/{x}/
    #: {y}.png``); none by default, and the map is whole without it.
    basemap_url: str | None = None
    basemap_attribution: str = ""
    #: The page's language until the planner switches: Bahasa Indonesia or English.
    language: Literal["id", "en"] = "id"
    #: The service's address as the permit desk reaches it, for the link and QR code a decision
    #: document carries (default: the address the request came to).
    public_url: str | None = None


class Settings(BaseModel):
    """Everything ``create_app`` needs."""

    store: StoreSettings = Field(default_factory=StoreSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    limits: LimitSettings = Field(default_factory=LimitSettings)
    web: WebSettings = Field(default_factory=WebSettings)

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            store=StoreSettings(), api=ApiSettings(), limits=LimitSettings(), web=WebSettings()
        )
