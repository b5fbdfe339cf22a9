"""The portal's routes by area: public (start, links, sign-out), the Kommune's page, the ministry's side."""
