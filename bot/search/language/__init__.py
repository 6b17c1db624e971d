"""How text is read, for passages and queries alike: word segmentation (jieba),
spelling groups, the attributes a question asks for, and the shape of a question."""
