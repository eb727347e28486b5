/* bare-responder.c: the FastCGI ceiling for benchmarks: a constant JSON answer, no routing, no I/O. */
#include <fcgiapp.h>
#include <stdlib.h>

static const char body[] = "{\"status\":\"ok\"}\n";

int main(void)
{
	FCGX_Request req;

	if (FCGX_Init() != 0)
		return EXIT_FAILURE;
	/* fd 0 is the listening socket that the web server (bin-path) hands to its children. */
	if (FCGX_InitRequest(&req, 0, 0) != 0)
		return EXIT_FAILURE;
	while (FCGX_Accept_r(&req) >= 0) {
		FCGX_FPrintF(req.out,
		             "Status: 200 OK\r\n"
		             "Content-Type: application/json\r\n"
		             "Content-Length: %d\r\n"
		             "\r\n",
		             (int)(sizeof(body) - 1));
		FCGX_PutStr(body, (int)(sizeof(body) - 1), req.out);
		FCGX_Finish_r(&req);
	}
	return EXIT_SUCCESS;
}
