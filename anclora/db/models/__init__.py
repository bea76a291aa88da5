"""Every model, imported so that Base.metadata knows all tables."""

from .billing import ConversionTransaction, CreditEntry, Purchase, StripeEvent
from .conversion import Conversion, WebhookDelivery
from .credentials import ApiKey, EmailToken, RefreshToken
from .file import File
from .ops_run import OpsRun
from .reward import UserReward
from .user import User

__all__ = [
    "ApiKey", "Conversion", "ConversionTransaction", "CreditEntry", "EmailToken", "File", "OpsRun",
    "Purchase", "RefreshToken", "StripeEvent", "User", "UserReward", "WebhookDelivery",
]
