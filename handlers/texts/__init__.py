"""Plain texts the edge writes from service values: answers in words, the /mydata file."""
