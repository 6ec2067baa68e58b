"""WhatsApp: the Business Cloud API's webhook inside the gateway, and our small client of it."""

from channels.whatsapp.channel import WhatsAppChannel, setup_whatsapp
from channels.whatsapp.cloud_api import CloudApi, CloudApiConfig, CloudApiError
from channels.whatsapp.errors import WhatsAppError

__all__ = ["CloudApi", "CloudApiConfig", "CloudApiError", "WhatsAppChannel", "WhatsAppError", "setup_whatsapp"]
