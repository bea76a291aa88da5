"""Anclora Converter. This module is the plugin author's API: hookimpl, Converter, errors, __version__."""

import pluggy

from .conversion.converter import Availability, ConversionContext, Converter
from .errors import AncloraError, ConversionFailed, UnsupportedMediaType
from .version import __version__

hookimpl = pluggy.HookimplMarker("anclora")

__all__ = ["AncloraError", "Availability", "ConversionContext", "ConversionFailed", "Converter",
           "UnsupportedMediaType", "__version__", "hookimpl"]
