"""Conversations as the engine reads them: transcripts and their metadata, cut into
passages, with each guest answer tied to the host's question it follows."""
