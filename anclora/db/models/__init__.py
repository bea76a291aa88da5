"""Every model, imported so that Base.metadata knows all tables."""

from .billing import ConversionTransaction, CreditEntry, Purchase, StripeEvent
from .conversion import Conversion
from .credentials import ApiKey, EmailToken, RefreshToken
from .file import File
from .ops_run import OpsRun
from .resumable_upload import ResumableUpload
from .reward import UserReward
from .user import User
from .webhook import WebhookAttempt, WebhookDelivery

__all__ = [
    "ApiKey", "Conversion", "ConversionTransaction", "CreditEntry", "EmailToken", "File", "OpsRun",
    "Purchase", "RefreshToken", "ResumableUpload", "StripeEvent", "User", "UserReward", "WebhookAttempt",
    "WebhookDelivery",
]
