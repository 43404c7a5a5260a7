"""The kiosk at run time: workers for camera, microphone and staff hand-offs around the text core."""
