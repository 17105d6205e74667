// Open MPI through pkg-config (`ompi-c`). MPI's handles (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, ...)
// are C macros Swift cannot import, so they are wrapped in static inline functions here
// (docs/distributed.md).
#include <mpi.h>

static inline MPI_Comm adv_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype adv_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype adv_mpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype adv_mpi_int64(void) { return MPI_INT64_T; }
static inline MPI_Datatype adv_mpi_byte(void) { return MPI_BYTE; }
static inline MPI_Op adv_mpi_sum(void) { return MPI_SUM; }
static inline MPI_Op adv_mpi_max(void) { return MPI_MAX; }
static inline MPI_Errhandler adv_mpi_errors_return(void) { return MPI_ERRORS_RETURN; }
static inline int adv_mpi_success(void) { return MPI_SUCCESS; }
static inline void *adv_mpi_in_place(void) { return MPI_IN_PLACE; }
static inline MPI_Status *adv_mpi_status_ignore(void) { return MPI_STATUS_IGNORE; }
static inline MPI_Datatype adv_mpi_char(void) { return MPI_CHAR; }
