# The ThreadSanitizer tree (-DBERTH_TSAN=ON, `make test-tsan`): only the tests that start threads,
# so that TSan checks the threaded parts (work queue, reflector, cache sync, event sink, sync,
# leader election, probe server) within CI's budget. Included by test/CMakeLists.txt instead of
# the full list; docs/development.md says how to run it.
#
# Chosen by what starts threads (grep std::thread/jthread/async in src/ and test/):
#   common     SystemClock's stop-token sleeps and Subprocess stopped from another thread: the
#              waits every threaded loop is built on.
#   workqueue  producers and workers on one queue, the rate-limited requeue.
#   kube       the Reflector on its thread against the Store and its readers, wait_for_cache_sync,
#              the AsyncEventSink's sender thread and its emitters, the REST client against a
#              threaded HTTP server, the request rate limiter.
#   leader     the elector's renew loop and the leading callback's own thread.
#   controller ServiceController::run(): its workers beside the reflector's enqueues, the data
#              plane's mark_port_unusable and the metrics readers (the other tests of the
#              folder drive one sync without threads).
#   metrics    the probe server's HTTP thread and Registry updates from several threads.
#   dataplane  HaproxySync's worker against reflector threads.
#   haproxy-range  the range driver's file writer (its thread copies the state apply() changes),
#              alone and behind a real HAProxy's runtime updates and reloads.
#   e2e        (a subset) the TSan-built berth and kube-sim binaries as users run them: reflector,
#              caches, event sink, allocator workers, leader election and the data plane sync
#              over real HTTPS.
# Left out: haproxy/ (but for range mode's driver) and kube-sim/ (their threads are test servers; kube-sim is still TSan-built
# and run by the e2e subset), ports/, app/, deploy/, ha/ (single-threaded or process-level), the
# rest of e2e/ (HAProxy reloads and databases add no thread of berth's that the subset does not
# run), the demo and the benchmarks.

# g++ 12's TSan runtime needs the address-space layout it was built for and aborts ("FATAL:
# ThreadSanitizer: unexpected memory mapping") when the kernel randomises mmap with more bits
# (vm.mmap_rnd_bits 32, common on newer kernels). Running every test without ASLR avoids it
# whatever the kernel; the personality is inherited, so the berth and kube-sim binaries a test
# spawns run the same way. gtest_discover_tests and add_test prefix test commands with a
# target's CROSSCOMPILING_EMULATOR, which is initialised from this variable. Where setarch is
# not allowed (a seccomp profile refusing personality()) tests run as they are.
execute_process(COMMAND uname -m OUTPUT_VARIABLE BERTH_ARCH OUTPUT_STRIP_TRAILING_WHITESPACE)
execute_process(COMMAND setarch ${BERTH_ARCH} -R true RESULT_VARIABLE BERTH_SETARCH_RESULT
                OUTPUT_QUIET ERROR_QUIET)
if(BERTH_SETARCH_RESULT EQUAL 0)
  set(CMAKE_CROSSCOMPILING_EMULATOR setarch;${BERTH_ARCH};-R)
else()
  message(WARNING "setarch -R is not allowed here; TSan tests run with ASLR as the kernel sets it")
endif()

# One executable per folder, as berth_test_folder makes, but only of the files named: the other
# tests of a folder (parsers, renderers, pure allocators) start no thread and would only cost
# build time. A folder's threaded test files must be listed here to be checked.
function(berth_tsan_tests folder)
  cmake_parse_arguments(arg "" "FILTER" "FILES;LIBS" ${ARGN})
  string(REPLACE "-" "_" target "${folder}_tests")
  list(TRANSFORM arg_FILES PREPEND "${CMAKE_CURRENT_SOURCE_DIR}/${folder}/")
  add_executable(${target} ${arg_FILES})
  target_link_libraries(${target} PRIVATE ${arg_LIBS} berth_test_support GTest::gtest GTest::gmock GTest::gtest_main)
  add_dependencies(${target} kube-sim berth)
  add_dependencies(tests ${target})
  if(NOT arg_FILTER)
    set(arg_FILTER "*")
  endif()
  gtest_discover_tests(${target} DISCOVERY_MODE PRE_TEST PROPERTIES TIMEOUT 300 TEST_FILTER "${arg_FILTER}")
endfunction()

berth_tsan_tests(common LIBS berth_common FILES clock_test.cc subprocess_test.cc)
berth_tsan_tests(workqueue LIBS berth_workqueue FILES work_queue_test.cc rate_limiting_queue_test.cc)
berth_tsan_tests(kube LIBS berth_kube
  FILES reflector_test.cc async_event_sink_test.cc store_test.cc rest_client_test.cc curl_transport_test.cc request_rate_limiter_test.cc)
berth_tsan_tests(leader LIBS berth_leader FILES leader_elector_test.cc)
berth_tsan_tests(controller LIBS berth_controller FILES service_controller_workers_test.cc)
berth_tsan_tests(metrics LIBS berth_metrics FILES probe_server_test.cc registry_test.cc)
berth_tsan_tests(dataplane LIBS berth_dataplane FILES haproxy_sync_test.cc)
berth_tsan_tests(haproxy-range LIBS berth_haproxy_range FILES range_files_writer_test.cc range_driver_test.cc)
# e2e: the berth binary as users run it, for what no unit test runs on threads: the allocator's
# workers, the event sink, leader election beside the reflectors and the data plane sync, the
# probe server and /metrics reading them all. Not the 10,000-Service LIST (minutes under TSan,
# one thread).
berth_tsan_tests(e2e LIBS berth_kube berth_workqueue berth_haproxy
  FILES berth_binary_test.cc reflector_kube_sim_test.cc allocator_kube_sim_test.cc probes_kube_sim_test.cc
  FILTER "BerthBinary.SyncsItsCaches*:ReflectorAgainstKubeSim.*:AllocatorKubeSim.TwoReplicas*:ProbesKubeSim.ReadyAfter*:ProbesKubeSim.SigtermReleases*:-*TenThousand*")
