"""ModernGov sites: the XML web service first, the public HTML pages when it is off."""
