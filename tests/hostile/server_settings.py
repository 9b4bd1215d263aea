"""Settings of the daphne that the hostile clients attack: the suite's, with production's socket
limits (tests.settings raises them so that only the throttling tests meet them)."""

from chatproject.settings import env_rate
from tests.settings import *  # noqa: F403

WS_MESSAGE_RATE = env_rate("WS_MESSAGE_RATE", "10,20")
WS_FRAME_RATE = env_rate("WS_FRAME_RATE", "20,40")
