"""Dispatch's own settings (`OTS_` prefix), read once at start-up."""

from pydantic_settings import BaseSettings, SettingsConfigDict

from services.dispatch.domain.config import PlannerConfig
from services.dispatch.domain.service_time import ServiceTimeModel


class DispatchSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OTS_", env_file=".env", extra="ignore")

    osrm_url: str | None = None
    dispatch_horizon_days: int = 10
    dispatch_road_factor: float = 1.4
    dispatch_speed_kmh: float = 30.0
    dispatch_home_minutes_per_person: int = 30
    dispatch_batch_setup_minutes: int = 30
    dispatch_batch_minutes_per_person: int = 7
    dispatch_debounce_seconds: float = 1.0
    dispatch_max_delay_seconds: float = 10.0
    dispatch_solver_timeout_seconds: float = 60.0
    dispatch_solver_threads: int = 2
    dispatch_retry_seconds: float = 30.0
    dispatch_eta_tolerance_minutes: int = 15

    def planner_config(self) -> PlannerConfig:
        times = ServiceTimeModel(
            home_minutes_per_person=self.dispatch_home_minutes_per_person,
            batch_setup_minutes=self.dispatch_batch_setup_minutes,
            batch_minutes_per_person=self.dispatch_batch_minutes_per_person,
        )
        return PlannerConfig(horizon_days=self.dispatch_horizon_days, service_time=times)
