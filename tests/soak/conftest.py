# The real-time tests' socket fixtures, for the soak's findings pinned down in small tests.
from tests.realtime.conftest import _fresh_channel_layer, connect  # noqa: F401
