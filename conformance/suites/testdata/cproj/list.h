#ifndef LIST_H
#define LIST_H
struct node {
	int value;
	struct node *next;
};
struct node *list_push(struct node *head, int value);
struct node *list_reverse(struct node *head);
struct node *list_sort(struct node *head);
int list_sum(const struct node *head);
void list_free(struct node *head);
#endif
